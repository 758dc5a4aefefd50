"""Process identity (processes.py): a pid plus its start time names one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from colabmagic.processes import ProcessIdentity, end, end_child, process_start


def test_process_start_tells_a_reused_pid():
    assert process_start(os.getpid()) == process_start(os.getpid()) is not None
    child = subprocess.Popen(["sleep", "30"])
    started = process_start(child.pid)
    assert started is not None and started >= process_start(os.getpid())
    child.kill()
    child.wait()
    assert process_start(child.pid) is None


def test_an_identity_is_alive_only_while_that_very_process_runs():
    child = subprocess.Popen(["sleep", "30"])
    identity = ProcessIdentity.of(child.pid)
    assert identity is not None and identity.alive()
    assert not ProcessIdentity(child.pid, identity.start - 1).alive()  # same pid, another process
    child.kill()
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)            # dead, not reaped: a zombie
    assert not identity.alive()                                        # a zombie counts as gone
    child.wait()
    assert not identity.alive() and ProcessIdentity.of(child.pid) is None


def test_started_at_is_what_psutil_calls_create_time():
    import psutil

    from colabmagic.processes import same_start, started_at

    child = subprocess.Popen(["sleep", "30"])
    assert abs(started_at(child.pid) - psutil.Process(child.pid).create_time()) < 0.05
    assert same_start(child.pid, psutil.Process(child.pid).create_time())
    assert not same_start(child.pid, psutil.Process(child.pid).create_time() - 5)
    child.kill()
    child.wait()
    assert started_at(child.pid) is None and not same_start(child.pid, 0.0)


IGNORES_SIGTERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"


def started(code: str, **popen) -> subprocess.Popen:
    """A Python child that has run CODE up to its 'ready' line (so its signal handlers are set)."""
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, **popen)
    assert child.stdout.readline().strip() == "ready"
    return child


def test_end_asks_first_and_kills_only_after_the_grace():
    polite = subprocess.Popen(["sleep", "30"])
    end(ProcessIdentity.of(polite.pid), 5)
    assert polite.wait(5) == -signal.SIGTERM              # SIGTERM was enough: no SIGKILL
    stubborn = started(IGNORES_SIGTERM)
    began = time.monotonic()
    end(ProcessIdentity.of(stubborn.pid), 0.5)
    assert stubborn.wait(5) == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - began < 4


def test_end_never_signals_a_process_that_only_has_the_pid():
    child = subprocess.Popen(["sleep", "30"])
    try:
        end(ProcessIdentity(child.pid, ProcessIdentity.of(child.pid).start - 1), 0.1)  # a reused pid
        time.sleep(0.1)
        assert child.poll() is None
    finally:
        child.kill()
        child.wait()


def test_end_of_a_group_reaches_what_its_leader_started_and_wakes_a_stopped_one():
    # the leader exits through a SIGTERM handler of its own (as TensorBoard does), which a stopped
    # process cannot run until it is continued
    leader = subprocess.Popen([sys.executable, "-c", "import signal, subprocess, sys, time; "
                               "signal.signal(signal.SIGTERM, lambda *_: sys.exit(3)); "
                               "c = subprocess.Popen(['sleep', '60']); print(c.pid, flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    grandchild = ProcessIdentity.of(int(leader.stdout.readline()))
    os.killpg(leader.pid, signal.SIGSTOP)
    end(ProcessIdentity.of(leader.pid), 5, group=True)
    assert leader.wait(5) == 3                             # its own handler ran: no SIGKILL was needed
    deadline = time.monotonic() + 5
    while grandchild.alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not grandchild.alive()                          # the whole group, not its leader alone


def test_end_child_reaps_and_kills_after_the_grace():
    polite = subprocess.Popen(["sleep", "30"])
    end_child(polite)
    assert polite.returncode == -signal.SIGTERM
    stubborn = started(IGNORES_SIGTERM)
    end_child(stubborn, grace=0.3)
    assert stubborn.returncode == -signal.SIGKILL
    end_child(stubborn)                                    # an ended child: nothing to do
