"""Process identity (processes.py): a pid plus its start time names one process."""

from __future__ import annotations

import os
import subprocess

from colabmagic.processes import ProcessIdentity, process_start


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
