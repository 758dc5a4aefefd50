"""colabmagic.session: durations, the rules of SessionState, the clock's warnings and expiry with an
injected clock, the state file the server extension reads (both directions, with what the flat
session.py of before wrote), the background timer, %session through a real shell, and a real
kernel that a `shutdown` session ends."""

from __future__ import annotations

import dataclasses
import json
import re
import os
import stat
import threading
import time

import pytest
from IPython.core.error import UsageError

from colabmagic import files, units
from colabmagic import session as clock
from colabmagic.errors import ConfigError
from colabmagic.session import Countdown, Session, SessionState, parse_limit
from conftest import run_ok

CONTRACT_KEYS = {"kernel_id", "pid", "started_at", "limit_seconds", "extended_seconds", "last_activity",
                 "on_expire", "updated_at"}


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def state_dir(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv(files.STATE_ENV, str(folder))
    yield folder
    clock.end()


@pytest.fixture
def fake():
    return Clock()


def make(fake, notices=None, **options):
    options.setdefault("kernel_id", "k1")
    options.setdefault("started_at", fake.now)
    notices = [] if notices is None else notices
    return Session(clock=fake, notify=notices.append, **options)


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


# ---------------------------------------------------------------- durations


@pytest.mark.parametrize("text, seconds", [("90m", 5400), (" 12H ", 43200), (600, 600), ("none", None), ("None", None)])
def test_parse_limit(text, seconds):
    assert parse_limit(text) == seconds  # a duration (tests/test_units.py), or none for no limit


@pytest.mark.parametrize("text", ["banana", "", "90", "1d", "-5m", "0m", 0, "1e3m", "9000h"])
def test_parse_limit_refuses_anything_else_in_one_line(text):
    with pytest.raises(ConfigError) as err:
        parse_limit(text)
    message = str(err.value)
    assert "\n" not in message and message.endswith("use a duration like 90m, 2h or 1h30m (or none for no limit)")


def test_the_countdown_in_numbers_and_words():
    running = Countdown(left=5400.0, total=7200.0, expired=False, elapsed=1799.6, idle=61, on_expire="warn")
    assert (running.clock, running.note, running.fraction, running.reached) == ("1:30:00", "left of 2h", 0.75, False)
    assert str(running) == "session: 1:30:00 left of 2h; running 30m, idle 1m1s; at the limit: warn"
    over = dataclasses.replace(running, left=0.0, expired=True, on_expire="shutdown")
    assert (over.clock, over.note, over.fraction, over.reached) == \
        ("0:00:00", "expired: the 2h limit is reached", 0.0, True)
    assert str(over).startswith("session: 0:00:00 left of 2h (expired); ")
    unlimited = dataclasses.replace(running, left=None, total=None)
    assert (unlimited.clock, unlimited.note, unlimited.fraction) == ("no limit", "this session has no time limit", 0.0)
    assert str(unlimited).startswith("session: no limit; running 30m")


# ---------------------------------------------------------------- the rules (kernel and server alike)


def state(**fields) -> SessionState:
    return SessionState(**{"kernel_id": "k", "started_at": 1000.0, "limit_seconds": 3600.0, **fields})


def test_a_new_limit_counts_from_the_start_and_resets_the_extension():
    s = state(extended_seconds=600.0).with_limit("2h")
    assert (s.limit_seconds, s.extended_seconds, s.ends_at) == (7200.0, 0.0, 8200.0)
    assert s.with_limit(None).time_left(10**9) is None and not s.with_limit(None).past_limit(10**9)
    assert s.with_limit(60).time_left(5000) == 0 and s.with_limit(60).past_limit(5000)


def test_an_extension_counts_from_the_end_or_from_now_once_expired():
    assert state().extended(600, now=2000).time_left(2000) == 3200  # still running: from its end
    late = state().extended(600, now=10_000)  # 5400 s past its end: from now
    assert late.time_left(10_000) == 600 and late.extended_seconds == 6000
    with pytest.raises(ConfigError, match="no limit to extend"):
        state(limit_seconds=None).extended(600, now=2000)
    for bad in (0, -5, True, float("inf"), "1h"):
        with pytest.raises(ConfigError, match="extend by a duration > 0"):
            state().extended(bad, now=2000)


def test_changes_apply_in_order_all_or_none():
    s = state()
    assert s.changed({"limit": "1h", "on_expire": "SHUTDOWN", "extend": 60}, now=1000).total_seconds == 3660
    assert s.changed({"limit": None, "on_expire": "shutdown"}, now=1000).on_expire == "shutdown"
    for bad, words in [({"limit": None, "extend": 60}, "no limit to extend"),
                       ({"on_expire": "explode", "limit": "2h"}, "Unknown expiry action"),
                       ({"limit": "soon"}, "Unknown duration"), ({"colour": "teal"}, "unknown session change")]:
        with pytest.raises(ConfigError, match=words):
            s.changed(bad, now=1000)
    assert s == state()  # frozen: a refused change changed nothing


@pytest.mark.parametrize("fields", [
    dict(limit_seconds="abc"), dict(limit_seconds=0), dict(limit_seconds=float("inf")), dict(started_at=-1),
    dict(started_at=True), dict(extended_seconds=-1.0), dict(on_expire="explode"), dict(on_expire=None),
    dict(pid=True), dict(pid="1"), dict(kernel_id=""), dict(busy="yes"), dict(notice=3),
])
def test_a_state_of_the_wrong_shape_is_no_state(fields):
    with pytest.raises(ValueError):
        state(**fields)
    assert SessionState.from_values({**dataclasses.asdict(state()), **fields}) is None


# ---------------------------------------------------------------- the clock


def test_default_limit_is_colabs_12_hours(fake):
    s = make(fake)
    assert s.limit_seconds == 12 * 3600 and s.on_expire == "warn"
    fake.now += 3600
    assert s.time_left() == 11 * 3600 and s.elapsed() == 3600


def test_warnings_at_30_10_and_1_minutes_each_once(fake):
    notices = []
    s = make(fake, notices, limit=3600)
    seen = []
    for left in (3000, 1801, 1799, 1700, 601, 599, 61, 59, 30):
        fake.now = s.started_at + 3600 - left
        seen.extend(e.seconds_left for e in s.check() if e.kind == "warning")
    assert seen == [1799, 599, 59]
    assert len(notices) == 3 and "29m59s left" in notices[0] and "%session --extend 1h" in notices[0]


def test_a_late_start_gives_only_the_nearest_warning(fake):
    s = make(fake, limit=300)  # 5 minutes: past the 30- and 10-minute marks already
    events = s.check()
    assert [e.kind for e in events] == ["warning"] and events[0].seconds_left == 300
    fake.now += 250
    assert [e.seconds_left for e in s.check()] == [50]  # the 1-minute mark still comes


def test_extend_pushes_the_end_back_and_rearms_the_warnings(fake):
    s = make(fake, limit=3600)
    fake.now += 3600 - 500
    assert [e.kind for e in s.check()] == ["warning"]
    assert s.extend(3600) == 4100
    assert s.check() == []
    fake.now += 4100 - 1000
    assert [round(e.seconds_left) for e in s.check()] == [1000]  # the 30-minute mark again


def test_expiry_runs_the_hooks_once_and_warns(fake):
    notices = []
    s = make(fake, notices, limit=60)
    calls = []
    s.add_expiry_hook(lambda: calls.append("train") or 1)
    remove = s.add_expiry_hook(lambda: calls.append("removed"))
    remove()
    fake.now += 61
    events = s.check()
    assert [e.kind for e in events] == ["expired"] and calls == ["train"]
    assert s.expired and s.time_left() == 0
    assert "Session limit of 1m reached" in notices[-1] and "1 running job(s) asked to stop" in notices[-1]
    assert "extend with %session --extend 1h" in notices[-1]
    assert s.check() == [] and calls == ["train"]  # once


def test_the_expiry_notice_counts_the_runs_the_hooks_stopped(fake):
    """A hook returns how many runs it stopped (True: one; None, 0 or False: none)."""
    notices = []
    s = make(fake, notices, limit=60)
    for said in (2, True, None, 0, False):
        s.add_expiry_hook(lambda said=said: said)
    fake.now += 60
    s.check()
    assert "Session limit of 1m reached. 3 running job(s) asked to stop and checkpoint." in notices[-1]


def test_the_expiry_notice_names_no_job_when_no_hook_stopped_one(fake):
    notices = []
    s = make(fake, notices, limit=60)
    s.add_expiry_hook(lambda: None)  # a hook of the old kind, or nothing was training
    s.add_expiry_hook(lambda: 0)
    fake.now += 60
    assert [e.kind for e in s.check()] == ["expired"]
    assert "Session limit of 1m reached." in notices[-1] and "job" not in notices[-1]


def test_extending_an_expired_session_counts_from_now(fake):
    s = make(fake, limit=60)
    fake.now += 600
    s.check()
    assert s.extend(1800) == 1800 and not s.expired
    fake.now += 1801
    assert [e.kind for e in s.check()] == ["expired"]


def test_a_failing_hook_is_reported_and_the_others_still_run(fake):
    notices = []
    s = make(fake, notices, limit=60)
    ran = []

    def broken():
        raise RuntimeError("boom")

    s.add_expiry_hook(broken)
    s.add_expiry_hook(lambda: ran.append(True))
    fake.now += 60
    kinds = [e.kind for e in s.check()]
    assert kinds == ["expired", "error"] and ran == [True]
    assert any("RuntimeError('boom')" in n for n in notices)


def test_shutdown_action_ends_the_kernel_after_the_hooks(fake):
    order = []
    s = make(fake, limit=60, on_expire="shutdown", shutdown=lambda: order.append("shutdown"), grace=5)
    s.add_expiry_hook(lambda: order.append("hook"))
    fake.now += 60
    events = s.check()
    assert order == ["hook", "shutdown"]
    assert "shuts down when the running cell ends" in events[0].message


def test_shutdown_waits_for_the_running_cell_to_end(fake):
    done = []
    s = make(fake, limit=60, on_expire="shutdown", shutdown=lambda: done.append(time.monotonic()), grace=10)
    s.cell_started()
    fake.now += 60
    ended = []

    def finish():
        time.sleep(0.2)  # the training cell stops at its next step
        ended.append(time.monotonic())
        s.cell_finished()

    threading.Thread(target=finish).start()
    s.check()
    assert done and done[0] >= ended[0]


def test_warn_action_never_shuts_down(fake):
    s = make(fake, limit=60, shutdown=lambda: pytest.fail("must not shut down"))
    fake.now += 120
    s.check()
    assert s.expired


def test_no_limit_never_expires(fake):
    s = make(fake, limit=None)
    fake.now += 10**7
    assert s.check() == [] and s.time_left() is None and s.next_due() is None
    with pytest.raises(ConfigError, match="no limit to extend"):
        s.extend(60)


def test_next_due_is_the_next_warning_or_the_end(fake):
    s = make(fake, limit=3600)
    assert s.next_due() == 1800
    fake.now += 1800
    s.check()
    assert s.next_due() == 1200
    s.set_limit(120)  # from the start: long past
    assert s.time_left() == 0


def test_idle_time_comes_from_cell_starts(fake):
    s = make(fake)
    fake.now += 100
    assert s.idle_seconds() == 100
    s.cell_started()
    fake.now += 50
    assert s.idle_seconds() == 0  # a running cell is not idle
    s.cell_finished()
    assert s.idle_seconds() == 50


@pytest.mark.parametrize("options, message", [
    (dict(limit=0), "more than 0"), (dict(limit=float("inf")), "at most 366 days"), (dict(limit="banana"), "Unknown duration 'banana'"),
    (dict(on_expire="explode"), "Unknown expiry action 'explode': use warn or shutdown"),
])
def test_bad_options_are_config_errors(fake, options, message):
    with pytest.raises(ConfigError, match=message):
        make(fake, **options)


# ---------------------------------------------------------------- the state file


def test_state_file_has_the_contracts_keys(fake, state_dir):
    s = make(fake, limit=7200, on_expire="shutdown", kernel_id="abc-123")
    path = s.flush()
    assert path == clock.state_path("abc-123") == state_dir / "colabmagic-session-abc-123.json"
    state = json.loads(path.read_text())
    assert CONTRACT_KEYS <= set(state)
    assert state["limit_seconds"] == 7200 and state["on_expire"] == "shutdown" and state["pid"] == os.getpid()
    assert (state.pop("record_format"), state.pop("record_version")) == ("colabmagic-session", 1)
    assert dataclasses.asdict(clock.read_state("abc-123")) == state
    assert clock.read_state("abc-123").time_left(fake.now + 200) == 7000
    assert not list(state_dir.glob("*.part"))


def test_the_state_file_carries_the_last_notice_for_the_toolbar(fake, state_dir):
    s = make(fake, limit=3600, kernel_id="note")
    s.flush()
    assert clock.read_state("note").notice is None
    fake.now += 3600 - 300
    s.check()
    state = clock.read_state("note")
    assert "5m left" in state.notice and state.notice_at == fake.now and not state.expired
    fake.now += 300
    s.check()
    state = clock.read_state("note")
    assert state.expired is True and state.notice.startswith("Session limit of 1h reached")


def test_a_change_the_server_wrote_is_adopted_not_overwritten(fake, state_dir):
    s = make(fake, limit=3600, kernel_id="srv")
    s.flush()
    assert clock.read_state("srv").changed_by == "kernel"
    assert s.adopt_server_change() is False  # our own write
    state = clock.read_state("srv")
    clock.write_state(dataclasses.replace(state, limit_seconds=7200.0, extended_seconds=600.0, on_expire="shutdown",
                                          changed_by="server"))  # what the toolbar's POST does
    assert s.adopt_server_change() is True
    assert (s.limit_seconds, s.extended_seconds, s.on_expire) == (7200.0, 600.0, "shutdown")
    s.cell_started()
    s.flush()  # the next activity write keeps the server's values
    state = clock.read_state("srv")
    assert (state.limit_seconds, state.extended_seconds, state.changed_by) == (7200.0, 600.0, "kernel")
    malformed = {**dataclasses.asdict(state), "limit_seconds": "banana", "changed_by": "server"}
    clock.state_path("srv").write_bytes(files.encode_record("colabmagic-session", 1, malformed))
    assert s.adopt_server_change() is False and s.limit_seconds == 7200.0  # malformed: ours stays


def test_a_busy_kernels_next_write_takes_in_the_servers_change_first(fake, state_dir):
    # the kernel is busy (its timer has not looked yet) when the toolbar extends the session
    s = make(fake, limit=3600, kernel_id="busy")
    s.flush()
    clock.write_state(dataclasses.replace(clock.read_state("busy"), extended_seconds=900.0, changed_by="server"))
    s.cell_started()  # activity: the next flush writes the kernel's state
    s.flush()
    assert clock.read_state("busy").extended_seconds == 900.0 and s.extended_seconds == 900.0


def test_flushes_from_two_threads_never_collide(fake, state_dir):
    s = make(fake, limit=3600, kernel_id="race")
    errors = []

    def writer():
        for _ in range(200):
            if s.flush() is None:
                errors.append("a write failed")

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and s.persist and clock.read_state("race").kernel_id == "race"


def test_the_timer_adopts_a_server_change(state_dir):
    s = Session(limit=3600, kernel_id="srv2", started_at=time.time(), notify=lambda m: None).start()
    try:
        state = clock.read_state("srv2")
        clock.write_state(dataclasses.replace(state, extended_seconds=1800.0, changed_by="server"))
        deadline = time.time() + 10
        while s.extended_seconds != 1800.0 and time.time() < deadline:
            time.sleep(0.05)
        assert s.extended_seconds == 1800.0
    finally:
        s.stop()


def test_state_helpers(state_dir):
    state = SessionState(kernel_id="k9", pid=1, started_at=100.0, limit_seconds=None, last_activity=100.0,
                         updated_at=100.0)
    clock.write_state(state)
    assert clock.read_state("k9") == state and state.time_left(10**9) is None
    assert dataclasses.replace(state, limit_seconds=60, extended_seconds=30).time_left(150) == 40
    assert dataclasses.replace(state, limit_seconds=60).time_left(10**9) == 0
    (state_dir / "colabmagic-session-torn.json").write_text("{not json")
    assert clock.read_state("torn") is None and clock.read_state("missing") is None
    (state_dir / "colabmagic-session-other.json").write_text(json.dumps({"kernel_id": "k9", "started_at": 1}))
    assert clock.read_state("other") is None  # another kernel's state under this one's name
    with pytest.raises(ConfigError, match="cannot name a state file"):
        clock.state_path("../escape")


def test_state_dir_defaults_to_jupyters_runtime_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(files.STATE_ENV)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "rt"))
    assert clock.state_path("k") == tmp_path / "rt" / "colabmagic-session-k.json"


def test_an_unwritable_state_dir_is_said_once_and_the_clock_goes_on(fake, state_dir, monkeypatch):
    if os.geteuid() == 0:
        monkeypatch.setenv(files.STATE_ENV, "/proc/colabmagic-cannot-exist")
    else:
        state_dir.mkdir()
        state_dir.chmod(stat.S_IRUSR | stat.S_IXUSR)
    notices = []
    s = make(fake, notices)
    assert s.flush() is None and s.flush() is None
    assert len(notices) == 1 and "Session state not saved" in notices[0]
    fake.now += 12 * 3600
    assert [e.kind for e in s.check()] == ["expired"]
    # once the folder can be written again, saving resumes: it was never turned off for good
    if os.geteuid() == 0:
        monkeypatch.setenv(files.STATE_ENV, str(state_dir))
    else:
        state_dir.chmod(stat.S_IRWXU)
    assert s.flush() is not None and clock.read_state(s.kernel_id).expired is True
    assert len(notices) == 2  # the expiry's own notice; the failure was said once


def test_the_timer_fires_in_the_background(state_dir):
    fired = threading.Event()
    notices = []
    s = Session(limit=0.3, kernel_id="bg", started_at=time.time(), notify=notices.append)
    s.add_expiry_hook(fired.set)
    s.start()
    try:
        assert clock.read_state("bg").limit_seconds == 0.3  # written at start
        assert fired.wait(5), "the expiry hook did not run"
        deadline = time.time() + 5
        while not clock.read_state("bg").expired and time.time() < deadline:
            time.sleep(0.02)
        assert clock.read_state("bg").expired is True
    finally:
        s.stop()
    assert clock.read_state("bg") is None  # a stopped session leaves no state file


def test_current_start_and_end(state_dir):
    assert clock.current() is None
    s = clock.start(limit=3600, kernel_id="cur")
    assert clock.current() is s and clock.start() is s
    assert clock.read_state("cur") is not None
    clock.end()
    assert clock.current() is None and clock.read_state("cur") is None


# A fresh process: IPython keeps one shell per process, and the test shell may be wired already.
STARTED_BY_THE_SERVER = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from colabmagic.server.sessions import SessionKeeper
import colabmagic.session as clock

shell = InteractiveShell.instance()
for _ in range(2):  # the toolbar's Start twice: wired once
    result = shell.run_cell(SessionKeeper.start_code({"limit": 3600}), silent=True, store_history=False)
    assert result.success, result.error_in_exec
s = clock.current()
s.cell_started(now=s.clock() - 500)  # a cell 500 s ago
s.cell_finished()
idle_before = s.idle_seconds()
shell.run_cell("import colabmagic.session as c; busy_in_cell = c.current().busy", store_history=False)
print(json.dumps({"idle_before": idle_before, "idle_after": s.idle_seconds(), "busy_after": s.busy,
                  "busy_in_cell": shell.user_ns["busy_in_cell"],
                  "wired": [cb.__name__ for cb in shell.events.callbacks["pre_run_cell"]].count("_cell_started")}))
clock.end()
"""


def test_a_session_started_by_the_server_tracks_cells_in_a_real_shell(state_dir):
    """start_code (the toolbar's Start, a silent execute) wires the cell events as %session does."""
    import subprocess
    import sys

    env = {**os.environ, files.STATE_ENV: str(state_dir)}
    out = subprocess.run([sys.executable, "-c", STARTED_BY_THE_SERVER], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["idle_before"] >= 500
    assert seen["idle_after"] < 100 and seen["busy_in_cell"] and not seen["busy_after"]
    assert seen["wired"] == 1


# ---------------------------------------------------------------- %session


def test_session_magic_prints_the_time_left(shell, capsys):
    s = run_ok(shell, "%session --limit 2h -o")
    assert isinstance(s, Session) and clock.current() is s
    out = capsys.readouterr().out
    # the clock counts from this process's start (the kernel's), minutes or hours before this test
    assert re.match(r"session: [01]:\d\d:\d\d left of 2h", out) and "at the limit: warn" in out
    run_ok(shell, "%session --extend 30m --on-expire shutdown")
    out = capsys.readouterr().out
    assert "left of 2h30m" in out and "at the limit: shutdown" in out
    assert clock.read_state(s.kernel_id).extended_seconds == 1800
    run_ok(shell, "%session --limit none")
    assert "no limit" in capsys.readouterr().out and s.time_left() is None


def test_session_magic_tracks_idle_time_from_cells(shell):
    s = run_ok(shell, "%session -q -o")
    s.cell_started(now=s.clock() - 500)  # a cell 500 s ago
    s.cell_finished()
    assert s.idle_seconds() >= 500
    run_ok(shell, "x = 1")
    assert s.idle_seconds() < 5 and not s.busy


@pytest.mark.parametrize("line, expected", [
    ("%session --limit banana", "Unknown duration 'banana': use a duration like 90m, 2h or 1h30m (or none for no limit)"),
    ("%session --extend none", "--extend needs a duration like 30m or 1h, not 'none'"),
    ("%session --on-expire explode", "Unknown expiry action 'explode': use warn or shutdown"),
    ("%session --limit", "expected one argument"),
    ("%session --limit " + "9" * 400 + "h", "at most 366 days"),  # was an OverflowError traceback
    ("%session --extend 400d", "Unknown duration"),
    ("%session --extend 9000h", "at most 366 days"),
])
def test_session_magic_bad_input_is_one_usage_error_and_changes_nothing(shell, line, expected):
    run_ok(shell, "%session --limit 3h -q")
    before = clock.current().state()
    message = usage_error(shell, line)
    assert expected in message and "\n" not in message
    after = clock.current().state()
    assert {k: after[k] for k in ("limit_seconds", "extended_seconds", "on_expire")} == \
        {k: before[k] for k in ("limit_seconds", "extended_seconds", "on_expire")}


def test_extend_without_a_limit_changes_nothing(shell):
    run_ok(shell, "%session --limit none -q")
    assert "no limit to extend" in usage_error(shell, "%session --extend 1h --on-expire shutdown")
    assert clock.current().on_expire == "warn"


def test_session_end(shell, capsys):
    s = run_ok(shell, "%session -q -o")
    run_ok(shell, "%session --end")
    assert "Session clock stopped" in capsys.readouterr().out
    assert clock.current() is None and clock.read_state(s.kernel_id) is None


# ---------------------------------------------------------------- a real kernel


@pytest.mark.slow
def test_a_shutdown_session_ends_a_real_kernel(state_dir):
    """The kernel process exits (freeing its GPU) when its `shutdown` session expires."""
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, files.STATE_ENV: str(state_dir), "PYTHONPATH": os.getcwd()},
                    extra_arguments=[f"--IPKernelApp.exec_lines=import sys; sys.path.insert(0, {os.getcwd()!r})"])
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        # the limit counts from the kernel's start: 3 s is reached within a moment
        reply = kc.execute_interactive("%load_ext colabmagic\n%session --limit 3s --on-expire shutdown -q",
                                       timeout=30)
        assert reply["content"]["status"] == "ok"
        deadline = time.time() + 30
        while km.is_alive() and time.time() < deadline:
            time.sleep(0.2)
        assert not km.is_alive(), "the kernel outlived its session"
        (state_file,) = state_dir.glob("colabmagic-session-*.json")  # SIGTERM: no atexit clean-up
        state = json.loads(state_file.read_text())
        assert state["expired"] is True and state["on_expire"] == "shutdown" and state["limit_seconds"] == 3
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)
        else:
            km.cleanup_resources()


@pytest.mark.slow
def test_a_kernel_of_a_jupyter_server_is_shut_down_by_it_not_restarted(tmp_path, state_dir):
    """Under a Jupyter server a kernel that just exits is restarted by the server's auto-restarter;
    an expired `shutdown` session asks the server to shut the kernel down instead (the server's own
    enforcement is off here: this is the kernel's side)."""
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request
    import uuid

    jupyter_client = pytest.importorskip("jupyter_client")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token, runtime = uuid.uuid4().hex, tmp_path / "runtime"
    env = {**os.environ, files.STATE_ENV: str(state_dir), "JUPYTER_RUNTIME_DIR": str(runtime)}
    log = tmp_path / "server.log"
    command = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={tmp_path}", "--ColabMagicServer.enforce_interval=0"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")

    def api(path, method="GET", body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    with open(log, "wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    client = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                api("api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.2)
        kernel_id = api("api/kernels", "POST", {"name": "python3"})["id"]
        client = jupyter_client.BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("%load_ext colabmagic\n%session --limit 3s --on-expire shutdown -q",
                                           timeout=30)
        assert reply["content"]["status"] == "ok"
        deadline = time.monotonic() + 40
        while any(k["id"] == kernel_id for k in api("api/kernels")):
            assert time.monotonic() < deadline, "the kernel outlived its session"
            time.sleep(0.2)
        time.sleep(2)  # what an auto-restart would need to show up
        assert api("api/kernels") == [], "the kernel came back"
        assert "restarting kernel" not in log.read_text()
    finally:
        if client is not None:
            client.stop_channels()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the kernel and the server write one state file: real processes ----------------------------

KERNEL_WRITER = """
import json, sys, time
from pathlib import Path
from colabmagic.session import Session
notes = []
s = Session(limit=3600, kernel_id="racer", notify=notes.append)
s.flush()
print("ready", flush=True)
stop = Path(sys.argv[1])
while not stop.exists():  # cells running back to back: every change of state is written
    s.cell_started()
    s.flush()
    s.cell_finished()
    s.flush()
s.flush()
print(json.dumps({"extended": s.extended_seconds, "persist": s.persist, "notes": notes}), flush=True)
"""

SERVER_WRITER = """
import sys
from types import SimpleNamespace
from colabmagic.server.sessions import SessionKeeper
keeper = SessionKeeper(SimpleNamespace(get_kernel={}.__getitem__))  # a kernel Jupyter does not know
for _ in range(int(sys.argv[1])):
    keeper.change("racer", None, "extend", {"extend": 10.0})
print("done", flush=True)
"""


def test_the_kernel_and_the_server_writing_one_state_file_lose_nothing(tmp_path):
    """A kernel's Session writes its state file back to back while two server processes extend the
    same session 100 times each (the toolbar's extend, POSTed in a burst). Every extension counts,
    in the file and in the kernel's own clock; nothing fails; the kernel keeps saving."""
    import subprocess
    import sys

    env = {**os.environ, "COLABMAGIC_STATE_DIR": str(tmp_path)}
    stop = tmp_path / "stop"
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL_WRITER, str(stop)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert kernel.stdout.readline().strip() == "ready"
        servers = [subprocess.Popen([sys.executable, "-c", SERVER_WRITER, "100"], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [server.communicate(timeout=120) for server in servers]
        stop.touch()
        out, err = kernel.communicate(timeout=60)
    finally:
        kernel.kill()
    assert [server.returncode for server in servers] == [0, 0], [err for _, err in results]
    assert kernel.returncode == 0, err
    final = json.loads(out.strip().splitlines()[-1])
    assert final["persist"] and final["notes"] == []
    assert final["extended"] == 2000.0
    assert json.loads((tmp_path / "colabmagic-session-racer.json").read_text())["extended_seconds"] == 2000.0
    assert not list(tmp_path.glob("*.part"))
