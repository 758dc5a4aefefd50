"""The Jupyter server extension through a real jupyter_server (pytest-jupyter's jp_fetch).

Every endpoint's shape, authentication (no token -> 403, foreign Origin refused), bad input ->
400 with a message, and session enforcement (warn and shutdown) with an injected clock.
Kernels started here are real ipykernels; each test shuts its own down.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import sys

import pytest
import tornado.httpclient

pytest.importorskip("jupyter_server")
# pytest-jupyter's fixtures for this module only: as a plugin (pytest_plugins) its autouse fixtures
# would create a ServerApp and close the event loop around every test of the whole suite
from pytest_jupyter.jupyter_server import *  # noqa: E402,F403


def run_in_loop(test):
    """An `async def` test as a plain one, run on the loop pytest-jupyter's server uses."""
    @functools.wraps(test)
    def sync(*args, **kwargs):
        from jupyter_core.utils import ensure_event_loop

        ensure_event_loop(prefer_selector_loop=True).run_until_complete(test(*args, **kwargs))

    return sync

API = ("colabmagic", "api")

from colabmagic.server.sessions import own_client  # noqa: E402


@pytest.fixture
def jp_server_config(tmp_path_factory, monkeypatch):
    # the server and the kernels it starts (they inherit its environment) share this state folder
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    # enforcement runs only when a test calls it: the clock is the test's
    return {"ServerApp": {"jpserver_extensions": {"colabmagic.server": True}},
            "ColabMagicServer": {"enforce_interval": 0.0}}


@pytest.fixture
def state(jp_serverapp):
    return jp_serverapp.web_app.settings["colabmagic"]


async def get_json(jp_fetch, *path, **kw):
    response = await jp_fetch(*API, *path, **kw)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def post_json(jp_fetch, *path, body):
    response = await jp_fetch(*API, *path, method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def error_of(coro) -> tuple[int, str]:
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await coro
    err = info.value
    message = json.loads(err.response.body).get("message", "") if err.response is not None and err.response.body else ""
    return err.code, message


def started_kernel(jp_serverapp, jp_asyncio_loop, name):
    km = jp_serverapp.kernel_manager
    kid = jp_asyncio_loop.run_until_complete(km.start_kernel(kernel_name=name))
    yield kid
    if kid in km:
        if name == "idle":  # nothing to save: end it at once (a shutdown would wait for it to answer)
            km.get_kernel(kid).provisioner.process.kill()
        jp_asyncio_loop.run_until_complete(km.shutdown_kernel(kid, now=True))


@pytest.fixture
def kernel_id(jp_serverapp, jp_asyncio_loop, jp_data_dir):
    """A kernel as the server sees it (a process it started and tracks) that runs no code: an idle
    Python process, so the many tests that only need a kernel id start and stop in milliseconds."""
    spec = jp_data_dir / "kernels" / "idle"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import sys, time; time.sleep(600)", "{connection_file}"],
        "display_name": "idle", "language": "python"}))
    yield from started_kernel(jp_serverapp, jp_asyncio_loop, "idle")


@pytest.fixture
def other_kernel_id(kernel_id, jp_serverapp, jp_asyncio_loop):
    """A second idle kernel (kernel_id made its kernel spec)."""
    yield from started_kernel(jp_serverapp, jp_asyncio_loop, "idle")


@pytest.fixture
def real_kernel_id(jp_serverapp, jp_asyncio_loop):
    """A real ipykernel, for what must run code or answer a shutdown request."""
    yield from started_kernel(jp_serverapp, jp_asyncio_loop, "python3")


# ---------------------------------------------------------------- resources


async def test_resources_has_colabs_shape_and_kernel_rss(jp_fetch, kernel_id):
    body = await get_json(jp_fetch, "resources")
    assert set(body["memory"]) == {"totalBytes", "freeBytes"}
    assert 0 < body["memory"]["freeBytes"] <= body["memory"]["totalBytes"]
    assert body["disks"] and all(d["filesystem"]["totalBytes"] >= d["filesystem"]["usedBytes"] > 0
                                 for d in body["disks"])
    assert isinstance(body["gpus"], list)
    for gpu in body["gpus"]:
        assert {"name", "memoryUsedBytes", "memoryTotalBytes", "gpuUtilization", "memoryUtilization"} <= set(gpu)
        assert 0 <= gpu["gpuUtilization"] <= 1
    (kernel,) = [k for k in body["kernels"] if k["id"] == kernel_id]
    import psutil

    # the reading is that process's own RSS (plus its children's): a Python process holds > 5 MB
    own = psutil.Process(kernel["pid"]).memory_info().rss
    assert kernel["rssBytes"] > 5e6 and 0.5 * own <= kernel["rssBytes"] <= 4 * own


async def test_resources_are_cached_for_a_second_and_read_once_for_many_pollers(jp_fetch, state, monkeypatch):
    import asyncio

    from colabmagic.server import readings

    calls = []
    real = readings.read_resources

    def counting(pids):
        calls.append(pids)
        return real(pids)

    monkeypatch.setattr(state.resources, "_read", counting)
    state.resources.invalidate()
    bodies = await asyncio.gather(*(get_json(jp_fetch, "resources") for _ in range(20)))
    assert len(calls) == 1  # one reading shared by 20 concurrent polls
    assert len({b["takenAt"] for b in bodies}) == 1
    await get_json(jp_fetch, "resources")
    assert len(calls) == 1  # still fresh
    state.resources.invalidate()
    await get_json(jp_fetch, "resources")
    assert len(calls) == 2


async def test_readings_run_off_the_event_loop(jp_fetch, state, monkeypatch):
    import threading

    threads = []
    real = state.resources._read

    def where(pids):
        threads.append(threading.current_thread())
        return real(pids)

    monkeypatch.setattr(state.resources, "_read", where)
    state.resources.invalidate()
    await get_json(jp_fetch, "resources")
    assert threads and threads[0] is not threading.main_thread()
    assert threads[0].name.startswith("colabmagic")


# ---------------------------------------------------------------- security


@pytest.mark.parametrize("path", ["resources", "session", "runtime", "jobs"])
async def test_no_token_is_403(jp_fetch, path):
    code, _ = await error_of(jp_fetch(*API, path, headers={"Authorization": ""}))
    assert code == 403


async def test_no_token_cannot_post(jp_fetch, kernel_id):
    code, _ = await error_of(jp_fetch(*API, "session", kernel_id, method="POST", body="{}",
                                      headers={"Authorization": ""}))
    assert code == 403


async def test_every_route_and_method_needs_jupyters_login(jp_fetch, kernel_id, jp_serverapp):
    """Per route and per method, read from the handlers the server really has: a method a handler
    defines answers 403 without a token (a forgotten @authenticated on one of them shows here), one
    it does not define 403 or 405, and nothing answers 2xx."""
    from colabmagic.server.handlers import KERNEL_ID, handlers

    base = jp_serverapp.base_url
    checked = 0
    for pattern, handler in handlers(base):
        path = pattern.replace(KERNEL_ID, kernel_id)
        assert "(" not in path, f"a route pattern this test cannot fill: {pattern}"
        parts = path[len(base):].split("/")
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
            defined = getattr(handler, method.lower()) is not getattr(tornado.web.RequestHandler, method.lower())
            body = "{}" if method in ("POST", "PUT", "PATCH") else None
            code, _ = await error_of(jp_fetch(*parts, method=method, body=body, headers={"Authorization": ""},
                                              allow_nonstandard_methods=True))
            assert code == 403 if defined else code in (403, 405), (path, method, code)
            checked += 1
    assert checked >= 25


async def login_cookie(jp_fetch, jp_serverapp) -> str:
    """The cookie a browser gets for opening the server's ?token= URL."""
    token = jp_serverapp.identity_provider.token
    response = await jp_fetch("tree", params={"token": token}, headers={"Authorization": ""},
                              follow_redirects=False, raise_error=False)
    cookies = response.headers.get_list("Set-Cookie")
    return "; ".join(c.split(";", 1)[0] for c in cookies)


async def test_cross_origin_request_is_refused(jp_fetch, jp_serverapp, kernel_id):
    cookie = await login_cookie(jp_fetch, jp_serverapp)
    assert cookie
    ours = await jp_fetch(*API, "resources", headers={"Authorization": "", "Cookie": cookie})
    assert ours.code == 200 and "Access-Control-Allow-Origin" not in ours.headers
    # a page on another site riding the user's cookie gets nothing
    code, _ = await error_of(jp_fetch(*API, "resources", headers={
        "Authorization": "", "Cookie": cookie, "Origin": "http://evil.example"}))
    assert code in (403, 404)  # jupyter_server answers a foreign Origin on its API with 404
    # nor can it change a session: cookie-authenticated POSTs need the XSRF token too
    code, _ = await error_of(jp_fetch(*API, "session", kernel_id, method="POST", body="{}", headers={
        "Authorization": "", "Cookie": cookie, "Origin": "http://evil.example"}))
    assert code in (403, 404)


# ---------------------------------------------------------------- runtime


async def test_runtime_lists_devices(jp_fetch):
    body = await get_json(jp_fetch, "runtime")
    specs = [d["spec"] for d in body["devices"]]
    assert "cpu" in specs
    cpu = body["devices"][specs.index("cpu")]
    assert {"spec", "kind", "name", "memory_total_bytes", "details"} <= set(cpu)


async def test_runtime_choice_gives_metadata_and_the_execute_that_applies_it(jp_fetch, real_kernel_id, jp_serverapp):
    kernel_id = real_kernel_id
    body = await post_json(jp_fetch, "runtime", kernel_id, body={"spec": "CPU"})
    assert body["spec"] == "cpu"
    assert body["metadata"] == {"accelerator": "None", "colab": {"gpuType": ""}}
    got = await get_json(jp_fetch, "runtime", kernel_id)
    assert got["selection"]["spec"] == "cpu"

    # the silent execute really selects the device in the kernel and hands the Selection back
    client = own_client(jp_serverapp.kernel_manager.get_kernel(kernel_id))
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(body["execute"]["code"], silent=True,
                                                 user_expressions=body["execute"]["user_expressions"],
                                                 timeout=60)
        selection = reply["content"]["user_expressions"]["selection"]
        assert selection["status"] == "ok", selection
        data = selection["data"]["application/json"]
        assert data["spec"] == "cpu" and data["applied"] is True
        check = await client.execute_interactive(
            "", silent=True, user_expressions={"s": "__import__('colabmagic.runtime').runtime.selected()"},
            timeout=60)
        assert check["content"]["user_expressions"]["s"]["data"]["text/plain"] == "'cpu'"
    finally:
        client.stop_channels()


async def test_runtime_from_notebook_metadata(jp_fetch, kernel_id):
    body = await post_json(jp_fetch, "runtime", kernel_id,
                           body={"metadata": {"accelerator": "None", "colab": {"gpuType": ""}}})
    assert body["spec"] == "cpu"
    body = await post_json(jp_fetch, "runtime", kernel_id, body={"metadata": {"kernelspec": {}}})
    assert body["spec"] == "auto"  # no runtime type stored: leave the kernel's default alone


RUNTIME_BAD = [
    ({"spec": "tpu"}, "Unknown device"),
    ({"spec": 3.5}, "device spec"),
    ({}, "spec"),
    ({"metadata": "GPU"}, "metadata"),
]


async def test_runtime_bad_choice_is_400_with_a_message(jp_fetch, kernel_id):
    for bad, words in RUNTIME_BAD:
        code, message = await error_of(jp_fetch(*API, "runtime", kernel_id, method="POST", body=json.dumps(bad)))
        assert code == 400 and words in message, (bad, message)


async def test_unknown_kernel_is_404(jp_fetch):
    for path in ("runtime", "session"):
        code, _ = await error_of(jp_fetch(*API, path, "no-such-kernel"))
        assert code == 404


@pytest.mark.parametrize("body", ["[1, 2", '{"action": "start", "limit": Infinity}', '{"limit": 1e400}'.replace("1e400", "NaN"),
                                  "[" * 100_000 + "]" * 100_000])
async def test_body_must_be_a_json_object(jp_fetch, kernel_id, body):
    """Broken JSON, JSON's non-standard Infinity/NaN, and a body nested 100,000 deep (a RecursionError,
    500, before) are one 400 each; nothing is stored."""
    from colabmagic import session

    code, message = await error_of(jp_fetch(*API, "session", kernel_id, method="POST", body=body))
    assert code == 400 and "JSON" in message
    assert session.read_state(kernel_id) is None


async def test_a_limit_of_1e400_is_refused_and_the_answer_stays_standard_json(jp_fetch, kernel_id):
    """1e400 parses as inf: it used to be stored, answered as Infinity, and break %session."""
    code, message = await error_of(jp_fetch(*API, "session", kernel_id, method="POST",
                                            body='{"action": "start", "limit": 1e400}'))
    assert code == 400 and "at most 366 days" in message


# ---------------------------------------------------------------- session


class Clock:
    """Unix seconds the test moves by hand; starts a minute ahead of the real clock so Jupyter's
    own activity stamps (real time) are always in its past."""

    def __init__(self):
        import time

        self.now = float(int(time.time()) + 60)

    def __call__(self):
        return self.now


@pytest.fixture
def clock(state):
    clock = Clock()
    state.sessions.clock = clock
    return clock


async def test_session_without_state_reports_jupyter_activity_and_culling(jp_fetch, kernel_id, clock, jp_serverapp):
    jp_serverapp.kernel_manager.cull_idle_timeout = 3600
    try:
        body = await get_json(jp_fetch, "session", kernel_id)
    finally:
        jp_serverapp.kernel_manager.cull_idle_timeout = 0
    assert body["kernel_id"] == kernel_id and body["started"] is False
    assert body["time_left_seconds"] is None and body["expired"] is False
    assert body["culling"]["idle_timeout_seconds"] == 3600
    assert body["last_activity"] is not None  # Jupyter's own tracking
    listing = await get_json(jp_fetch, "session")
    assert kernel_id in [s["kernel_id"] for s in listing["sessions"]]
    assert listing["culling"]["idle_timeout_seconds"] == 0


async def test_session_start_limit_extend_and_time_left(jp_fetch, kernel_id, clock):
    from colabmagic import session

    start = clock.now
    body = await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": "2h"})
    assert body["started"] and body["limit_seconds"] == 7200 and body["time_left_seconds"] == 7200
    state = session.read_state(kernel_id)  # written through colabmagic.session, in its format
    assert state.started_at == clock.now and state.limit_seconds == 7200 and state.on_expire == "warn"
    assert state.changed_by == "server"

    clock.now += 3600
    body = await get_json(jp_fetch, "session", kernel_id)
    assert body["time_left_seconds"] == 3600 and body["idle_seconds"] == 3600  # started = last activity

    body = await post_json(jp_fetch, "session", kernel_id, body={"action": "extend", "seconds": 1800})
    assert body["time_left_seconds"] == 5400 and body["extended_seconds"] == 1800
    body = await post_json(jp_fetch, "session", kernel_id, body={"action": "extend", "seconds": "30m"})
    assert body["time_left_seconds"] == 7200

    body = await post_json(jp_fetch, "session", kernel_id,
                           body={"action": "limit", "limit": None, "on_expire": "shutdown"})
    assert body["time_left_seconds"] is None and body["on_expire"] == "shutdown"
    # a second start keeps the clock running from the first
    body = await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": 5400})
    assert body["started_at"] == start and body["time_left_seconds"] == 1800


SESSION_BAD = [
    ({"action": "start", "limit": "soon"}, "Unknown duration"),
    ({"action": "start", "on_expire": "explode"}, "on_expire"),
    ({"action": "extend", "seconds": -5}, "extend"),
    ({"action": "reboot"}, "unknown action"),
    ({"action": "start", "limit": 1e300}, "at most 366 days"),
    ({"action": "limit", "limit": "9" * 400 + "h"}, "at most 366 days"),
]


async def test_session_bad_request_is_400_and_changes_nothing(jp_fetch, kernel_id, clock):
    from colabmagic import session

    await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": "1h"})
    before = session.read_state(kernel_id)
    for bad, words in SESSION_BAD:
        code, message = await error_of(jp_fetch(*API, "session", kernel_id, method="POST", body=json.dumps(bad)))
        assert code == 400 and words in message, (bad, message)
        assert session.read_state(kernel_id) == before


async def test_extend_without_a_session_or_limit_is_400(jp_fetch, kernel_id, clock):
    code, message = await error_of(jp_fetch(*API, "session", kernel_id, method="POST",
                                            body=json.dumps({"action": "extend"})))
    assert code == 400 and "start" in message
    await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": None})
    code, message = await error_of(jp_fetch(*API, "session", kernel_id, method="POST",
                                            body=json.dumps({"action": "extend"})))
    assert code == 400 and "no limit" in message


async def test_a_kernels_own_session_is_changed_in_the_kernel(jp_fetch, real_kernel_id, jp_serverapp):
    """A %session clock lives in the kernel and rewrites its state file on activity: a change
    written only to the file would be undone, so the server applies it in that Session."""
    import asyncio

    from colabmagic import session

    kid = real_kernel_id
    client = own_client(jp_serverapp.kernel_manager.get_kernel(kid))
    client.start_channels()

    async def run(code, **expressions):
        reply = await client.execute_interactive(code, silent=True, user_expressions=expressions, timeout=60)
        assert reply["content"]["status"] == "ok", reply["content"]
        # the server tracks the kernel's busy/idle from iopub, a moment after our reply
        kernel = jp_serverapp.kernel_manager.get_kernel(kid)
        for _ in range(100):
            if kernel.execution_state == "idle":
                break
            await asyncio.sleep(0.02)
        return {k: v["data"]["text/plain"] for k, v in reply["content"]["user_expressions"].items()}

    try:
        await client.wait_for_ready(timeout=60)
        await run("import colabmagic.session as s")
        # the toolbar's "Start session" on an idle kernel starts the clock in the kernel, as %session does
        body = await post_json(jp_fetch, "session", kid, body={"action": "start", "limit": "2h"})
        assert body["started"] and body["limit_seconds"] == 7200
        assert (await run("", l="s.current().limit_seconds"))["l"] == "7200.0"
        assert session.read_state(kid).limit_seconds == 7200
        body = await post_json(jp_fetch, "session", kid, body={"action": "extend", "seconds": 1800})
        assert body["extended_seconds"] == 1800 and 8990 < body["time_left_seconds"] <= 9000
        assert (await run("", e="s.current().extended_seconds"))["e"] == "1800.0"
        # the kernel's next activity rewrites the file (its timer, within a second): the extension stays
        before = session.read_state(kid).updated_at
        await run("s.current().cell_started(); s.current().cell_finished()")
        for _ in range(100):
            state = session.read_state(kid)
            if state.updated_at > before:
                break
            await asyncio.sleep(0.05)
        assert state.updated_at > before
        assert state.extended_seconds == 1800 and state.changed_by != "server"
        body = await post_json(jp_fetch, "session", kid, body={"action": "limit", "on_expire": "shutdown"})
        assert body["on_expire"] == "shutdown"
        assert (await run("", a="s.current().on_expire"))["a"] == "'shutdown'"
        # what the kernel's Session refuses comes back as a 400 with its words
        await post_json(jp_fetch, "session", kid, body={"action": "limit", "limit": None})
        code, message = await error_of(jp_fetch(*API, "session", kid, method="POST",
                                                body=json.dumps({"action": "extend", "seconds": 60})))
        assert code == 400 and "no limit" in message
    finally:
        client.stop_channels()


async def test_enforcement_warns_once_then_extension_clears_it(jp_fetch, kernel_id, clock, state):
    await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": 600})
    clock.now += 599
    assert await state.enforce() == []
    clock.now += 2
    assert await state.enforce() == [kernel_id]
    assert await state.enforce() == []  # warned once, not every pass
    body = await get_json(jp_fetch, "session", kernel_id)
    assert body["expired"] and body["time_left_seconds"] == 0
    assert kernel_id in state.kernel_manager  # warn keeps the kernel
    body = await post_json(jp_fetch, "session", kernel_id, body={"action": "extend", "seconds": 600})
    assert not body["expired"] and body["time_left_seconds"] == 600  # counted from now, not the missed end
    assert kernel_id not in state.sessions.expired


@pytest.mark.parametrize("planted", ["wrong types", "fifo", "symlink"])
async def test_a_bad_state_file_stops_neither_its_reader_nor_the_others(jp_fetch, kernel_id, other_kernel_id, clock,
                                                                       state, planted, tmp_path):
    """Another kernel's state file with "limit_seconds": "abc" made every enforcement pass raise (no
    limit enforced) and GET /session answer 500; a FIFO there hung the executor threads. A bad file
    is read as no session; the good one's limit is enforced all the same."""
    import asyncio

    from colabmagic import session

    bad = session.state_path(other_kernel_id)
    if planted == "wrong types":
        bad.write_text(json.dumps({"kernel_id": other_kernel_id, "started_at": 0, "limit_seconds": "abc"}))
    elif planted == "fifo":
        os.mkfifo(bad)
    else:
        target = tmp_path / "elsewhere.json"
        target.write_text(json.dumps({"kernel_id": other_kernel_id, "started_at": 0, "limit_seconds": 1}))
        bad.symlink_to(target)
    try:
        await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": 600})
        clock.now += 601
        assert await asyncio.wait_for(state.enforce(), 10) == [kernel_id]
        for _ in range(6):  # more than the executor's threads: none may hang
            body = await asyncio.wait_for(get_json(jp_fetch, "session", other_kernel_id), 10)
            assert body["started"] is False
    finally:
        bad.unlink()


async def test_enforcement_shuts_the_kernel_down(jp_fetch, real_kernel_id, clock, state, jp_serverapp):
    kernel_id = real_kernel_id
    await post_json(jp_fetch, "session", kernel_id,
                    body={"action": "start", "limit": "10m", "on_expire": "shutdown"})
    clock.now += 300
    assert await state.enforce() == []
    assert kernel_id in jp_serverapp.kernel_manager
    clock.now += 301
    assert await state.enforce() == [kernel_id]
    assert kernel_id not in jp_serverapp.kernel_manager
    code, _ = await error_of(jp_fetch(*API, "session", kernel_id))
    assert code == 404


async def test_enforcement_gives_a_busy_kernel_the_sessions_grace(jp_fetch, real_kernel_id, clock, state,
                                                                  jp_serverapp):
    """A cell still running at the limit (a %train checkpointing) gets SHUTDOWN_GRACE, as the kernel's
    own session gives it; an extension in the meantime starts the next expiry's grace afresh."""
    from colabmagic.session import SHUTDOWN_GRACE

    kernel_id = real_kernel_id
    await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": "10m", "on_expire": "shutdown"})
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    kernel.execution_state = "busy"  # as Jupyter tracks it from the kernel's status messages
    clock.now += 601
    assert await state.enforce() == []
    clock.now += SHUTDOWN_GRACE - 1
    assert await state.enforce() == [] and kernel_id in jp_serverapp.kernel_manager
    kernel.execution_state = "idle"  # the cell ended
    assert await state.enforce() == [kernel_id]
    assert kernel_id not in jp_serverapp.kernel_manager


async def test_a_busy_kernel_is_shut_down_after_the_grace_and_an_extension_resets_it(jp_fetch, real_kernel_id,
                                                                                      clock, state, jp_serverapp):
    from colabmagic.session import SHUTDOWN_GRACE

    kernel_id = real_kernel_id
    await post_json(jp_fetch, "session", kernel_id, body={"action": "start", "limit": "10m", "on_expire": "shutdown"})
    jp_serverapp.kernel_manager.get_kernel(kernel_id).execution_state = "busy"
    clock.now += 601
    assert await state.enforce() == []
    clock.now += SHUTDOWN_GRACE / 2
    await post_json(jp_fetch, "session", kernel_id, body={"action": "extend", "seconds": "1h"})
    assert await state.enforce() == [] and kernel_id not in state.sessions.due_since
    clock.now += 3600 + 1  # expired again: a fresh grace, then out although still busy
    assert await state.enforce() == []
    clock.now += SHUTDOWN_GRACE
    assert await state.enforce() == [kernel_id]
    assert kernel_id not in jp_serverapp.kernel_manager


async def test_enforcement_timer_runs_on_its_own(jp_serverapp, jp_fetch, kernel_id, state):
    import asyncio

    from colabmagic import session

    session.write_state(session.SessionState(kernel_id=kernel_id, started_at=0.0, limit_seconds=1.0,
                                             last_activity=0.0, on_expire="shutdown", updated_at=0.0))
    state.config.enforce_interval = 0.05
    state.start()
    try:
        for _ in range(100):
            if kernel_id not in jp_serverapp.kernel_manager:
                break
            await asyncio.sleep(0.05)
    finally:
        state._timer.stop()
    assert kernel_id not in jp_serverapp.kernel_manager


# ---------------------------------------------------------------- background training runs

async def test_jobs_lists_the_running_background_runs_for_the_toolbar(jp_fetch, tmp_path, monkeypatch):
    """A real background run started in this state folder shows while it runs, and not once stopped."""
    import asyncio

    from colabmagic.train import train

    monkeypatch.chdir(tmp_path)
    assert await get_json(jp_fetch, "jobs") == {"jobs": []}
    run = await asyncio.get_running_loop().run_in_executor(
        None, functools.partial(train, "mlp", "digits", epochs=400, threads=1, background=True, name="badge"))
    try:
        (job,) = (await get_json(jp_fetch, "jobs"))["jobs"]
        assert job["name"] == "badge" and job["state"] == "running" and job["epochs"] == 400
        assert set(job) == {"name", "state", "epoch", "epochs", "steps", "best", "elapsed", "eta", "device"}
    finally:
        await asyncio.get_running_loop().run_in_executor(None, run.stop)
    assert await get_json(jp_fetch, "jobs") == {"jobs": []}


for _name, _test in list(globals().items()):
    if _name.startswith("test_") and inspect.iscoroutinefunction(_test):
        globals()[_name] = run_in_loop(_test)
