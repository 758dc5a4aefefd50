"""The notebook widgets through their Python objects (traitlets), an injected clock and a ManualTicker
(no sleeping); then in a real kernel (display, live refresh, interrupt), and drawn by the real
@jupyter-widgets/html-manager in headless Chromium, whose page text and screenshots are checked
(text drawn in each widget's box, bar fills as wide as the readings)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from colabmagic import files, runtime
from colabmagic.errors import DeviceError
from colabmagic.session import Session
from colabmagic.machine import snapshot
from colabmagic.machine.monitor import bars, make_bar, render_text
from colabmagic.widgets.resources_view import ResourcesView
from colabmagic.widgets.runtime_panel import RuntimePanel
from colabmagic.widgets.session_view import SessionView, level
from colabmagic.widgets.ticker import ManualTicker, Ticker
from test_system import FakeGpu, fake_nvml, fresh_nvml  # noqa: F401 (fixtures)
from system_tools import require_chromium

GiB = 2**30
HTML_MANAGER = "1.0.15"  # @jupyter-widgets/html-manager: the renderer ipywidgets 8's embed pages load


class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def outputs_text(output) -> str:
    return "".join(o.get("text", "") for o in output.outputs)


@pytest.fixture
def fake():
    return Clock()


@pytest.fixture
def sess(fake):
    return Session(limit=3600, kernel_id="w", started_at=fake.now, clock=fake, notify=lambda m: None, persist=False)


# ---------------------------------------------------------------- %session countdown


def test_countdown_ticks_with_the_clock(sess, fake):
    view = SessionView(sess, ticker=ManualTicker)
    assert view.running and "1:00:00" in view.countdown.value and "left of 1h" in view.countdown.value
    assert view.bar.value == 1.0 and view.bar.bar_style == "success"
    fake.now += 1
    view._ticker.tick()
    assert "0:59:59" in view.countdown.value
    fake.now += 125
    view._ticker.tick()
    assert "0:57:54" in view.countdown.value and "idle 2m6s" in view.details.value
    assert "at the limit: <b>warn</b>" in view.details.value


@pytest.mark.parametrize("left, style, colour", [
    (1801, "success", "#43a047"), (1800, "warning", "#fb8c00"), (600, "danger", "#e53935"),
    (60, "danger", "#b71c1c"), (0, "danger", "#b71c1c"),
])
def test_countdown_colours_change_at_the_thresholds(sess, fake, left, style, colour):
    view = SessionView(sess, ticker=ManualTicker)
    fake.now = sess.started_at + 3600 - left
    view._ticker.tick()
    assert view.bar.bar_style == style and colour in view.countdown.value
    assert level(left) == (colour, style)


def test_the_extend_button_extends_and_warnings_show_in_the_widget(sess, fake):
    view = SessionView(sess, ticker=ManualTicker)
    fake.now += 3600 - 500
    sess.check()  # the session's own 10-minute warning reaches the widget
    assert "8m20s left" in outputs_text(view.messages)
    view.extend_button.click()
    assert sess.extended_seconds == 3600 and "Extended by 1h: 1:08:20 left" in outputs_text(view.messages)
    assert "1:08:20" in view.countdown.value


def test_expired_and_unlimited_sessions(sess, fake):
    view = SessionView(sess, ticker=ManualTicker)
    fake.now += 4000
    sess.check()
    view._ticker.tick()
    assert "0:00:00" in view.countdown.value and "expired" in view.countdown.value
    assert "Session limit of 1h reached" in outputs_text(view.messages)
    sess.set_limit(None)
    view._ticker.tick()
    assert "no limit" in view.countdown.value and view.extend_button.disabled


def test_an_error_in_a_callback_shows_in_the_widget(sess):
    view = SessionView(sess, ticker=ManualTicker)
    sess.set_limit(None)
    view.extend_button.click()  # disabled in the browser; a click from code reaches the session
    assert "no limit to extend" in outputs_text(view.messages)

    def broken(now=None):
        raise RuntimeError("clock exploded")

    view.refresh = broken
    view._ticker.tick()
    assert "RuntimeError: clock exploded" in outputs_text(view.messages)
    assert not view.running  # one error shown, not one a second


def test_closing_stops_the_ticker(sess, fake):
    view = SessionView(sess, ticker=ManualTicker)
    view.close()
    assert not view.running and view.widget.comm is None
    fake.now += 3600 - 500
    assert [e.kind for e in sess.check()] == ["warning"]
    assert outputs_text(view.messages) == ""  # a closed view no longer listens


def test_the_real_ticker_runs_off_the_main_thread():
    import threading

    seen = []
    done = threading.Event()

    def fn():
        seen.append(threading.current_thread().name)
        done.set()
        return False  # stop after one call

    ticker = Ticker(0.01, fn, name="t-test").start()
    assert done.wait(5) and seen == ["t-test"]
    ticker.stop()
    assert not ticker.running


# ---------------------------------------------------------------- %resources monitor


def test_resource_bars_follow_the_readings(fake_nvml):
    fake_nvml([FakeGpu(), FakeGpu(nvmlDeviceGetName="Tesla T4",
                                  nvmlDeviceGetMemoryInfo=SimpleNamespace(used=14 * GiB, total=15 * GiB))])
    view = ResourcesView(ticker=ManualTicker)
    keys = list(view.rows)
    assert keys[:3] == ["ram", "cpu", "disk0"] and keys[-4:] == ["gpu0mem", "gpu0util", "gpu1mem", "gpu1util"]
    snap = view.last
    ram = view.rows["ram"]
    assert ram.bar.value == round(snap.host.memory_used / snap.host.memory_total, 3)
    assert ram.text.value.endswith(f"/ {snap.host.memory_total / GiB:.1f} GiB "
                                   f"({100 * snap.host.memory_used / snap.host.memory_total:.0f}%)")
    assert view.rows["gpu0mem"].text.value.startswith("3.0 GiB / 40.0 GiB (8%)")
    assert view.rows["gpu0util"].bar.value == 0.87 and view.rows["gpu0util"].text.value == "87%"
    assert view.rows["gpu1mem"].bar.style.bar_color == "#fb8c00"  # 93 %: orange
    assert view.refreshes == 1
    view._ticker.tick(3)
    assert view.refreshes == 4
    assert "GPU 1 RAM" in render_text(view.last)


def test_the_monitors_bars_are_plain_data_from_a_reading(fake_nvml):
    """machine.monitor decides the bars, their words and colours; the widget only shows them."""
    fake_nvml([FakeGpu(nvmlDeviceGetMemoryInfo=SimpleNamespace(used=39 * GiB, total=40 * GiB),
                       unsupported={"nvmlDeviceGetUtilizationRates"})])
    snap = snapshot(processes=False)
    unknown_cpu = dataclasses.replace(snap, host=dataclasses.replace(snap.host, cpu_percent=None))
    rows = {bar.key: bar for bar in bars(unknown_cpu)}
    assert rows["cpu"] == make_bar("cpu", "CPU", None, "measuring…") and rows["cpu"].shown == 0.0
    assert rows["gpu0mem"].colour == "#e53935" and rows["gpu0mem"].text.startswith("39.0 GiB / 40.0 GiB (98%)")
    assert rows["gpu0util"].text == "N/A" and rows["gpu0util"].shown == 0.0
    assert make_bar("cpu", "CPU", 0.99, "99%").colour == "#1e88e5"  # a busy CPU is use, not a warning
    assert make_bar("disk0", "Disk", 1.7, "full").shown == 1.0
    assert [line.split()[0] for line in render_text(unknown_cpu).splitlines()[:2]] == ["RAM", "CPU"]


def test_resource_rows_rebuild_when_a_gpu_appears(fake_nvml):
    readings = []

    def read():
        return readings[-1]

    readings.append(snapshot(processes=False))
    view = ResourcesView(read, ticker=ManualTicker)
    before = list(view.rows)
    fake_nvml([FakeGpu()])
    from colabmagic.machine import nvml

    nvml.shutdown()
    readings.append(snapshot(processes=False))
    view._ticker.tick()
    assert list(view.rows) == [k for k in before if not k.startswith("gpu")] + ["gpu0mem", "gpu0util"]
    assert len(view.body.children) == len(view.rows)


def test_only_changed_values_are_sent(fake_nvml):
    fake_nvml([FakeGpu()])
    snap = snapshot(processes=False)
    view = ResourcesView(lambda: snap, ticker=ManualTicker)
    sent = []
    for bar in view.rows.values():
        for w in (bar.bar, bar.text):
            w.observe(lambda change: sent.append(change["name"]), names=["value"])
    view._ticker.tick(5)
    assert sent == []  # the same reading: nothing goes to the browser


def test_a_reading_error_shows_in_the_widget_and_stops_the_refresh():
    calls = []

    def read():
        calls.append(1)
        if len(calls) > 1:
            raise OSError("psutil lost /proc")
        return snapshot(processes=False)

    view = ResourcesView(read, ticker=ManualTicker)
    view._ticker.tick(3)
    assert "OSError: psutil lost /proc" in outputs_text(view.messages)
    assert not view.running and len(calls) == 2 and "error: not refreshing" in view.status.value


def test_closing_or_an_interrupt_stops_the_refresh(shell):
    from colabmagic.widgets.interrupts import on_interrupt

    view = ResourcesView(ticker=ManualTicker)
    assert "refreshing every 2 s" in repr(view)  # -o's Out: a line, not a second monitor
    remove = on_interrupt(shell, lambda: view.stop("interrupted"))
    try:
        shell.run_cell("raise KeyboardInterrupt", store_history=False)
    finally:
        remove()
    assert not view.running and "interrupted: not refreshing" in view.status.value
    assert "interrupted" in repr(view)
    closed = ResourcesView(ticker=ManualTicker)
    closed.close()
    assert closed._tick() is False and not closed.running


def test_a_new_resources_monitor_closes_the_earlier_one(shell, monkeypatch, published):
    """Re-running %resources must not leave the first monitor refreshing unseen."""
    from colabmagic.magics import resources
    from colabmagic.widgets import interrupts
    from conftest import run_ok

    monkeypatch.setattr(shell, "kernel", object(), raising=False)  # a kernel: widgets are shown
    first = run_ok(shell, "%resources --interval 30 -o")
    try:
        assert first.running and resources._views == [first]
        second = run_ok(shell, "%resources --interval 30 -o")
        assert second.running and resources._views == [second]
        assert not first.running and not first._ticker._thread.is_alive()
        assert first.widget.comm is None  # closed, as %session closes its earlier countdowns
        assert len(interrupts._callbacks) == 1  # the first one's interrupt callback went with it
    finally:
        run_ok(shell, "%resources --stop -q")
    assert not second.running and not interrupts._callbacks


def test_resources_terminal_form(shell, capsys):
    from conftest import run_ok

    run_ok(shell, "%resources")
    out = capsys.readouterr().out
    assert out.startswith("RAM") and "\nCPU" in out and "\nDisk" in out
    assert "UsageError" not in out


# ---------------------------------------------------------------- %runtime panel


def fake_runtime(selected="auto"):
    return runtime.Runtime(devices=[
        runtime.Device("cpu", "cpu", "AMD EPYC", 16 * GiB, {"logical_cores": 8}),
        runtime.Device("cuda:0", "cuda", "NVIDIA A100-SXM4-40GB", 40 * GiB, {"uuid": "GPU-a", "compute_capability": "8.0"}),
        runtime.Device("cuda:1", "cuda", "Tesla T4", 15 * GiB, {"uuid": "GPU-b", "compute_capability": "7.5"}),
    ], selected=selected, gpu_problem=None, cuda_initialized=False, visible_devices=None)


def test_runtime_panel_lists_devices_with_details():
    panel = RuntimePanel(discover=fake_runtime, select=lambda spec: None)
    values = [value for _, value in panel.choice.options]
    assert values == ["auto", "cpu", "cuda:0", "cuda:1", "gpu:0,1"]
    assert panel.choice.value == "auto" and "auto picks cuda:0" in panel.details.value
    panel.choice.value = "cuda:1"
    assert "Tesla T4" in panel.details.value and "7.5" in panel.details.value and "15.0 GiB" in panel.details.value
    assert "selected: auto" in panel.status.value
    assert "Change runtime type" in panel.title.value


def test_runtime_panel_apply_and_restart_offer():
    chosen = []
    restarts = []

    def select(spec):
        chosen.append(spec)
        return runtime.Selection(spec, True, True, f"{spec}: hiding the other GPUs takes a kernel restart")

    panel = RuntimePanel(discover=fake_runtime, select=select, restart=lambda: restarts.append(1))
    assert panel.restart_button.layout.display == "none"
    panel.choice.value = "cuda:1"
    panel.apply_button.click()
    assert chosen == ["cuda:1"] and "Restart needed" in panel.status.value
    assert panel.restart_button.layout.display == ""
    panel.restart_button.click()
    assert restarts == [1]


def test_runtime_panel_shows_a_refused_selection_in_the_widget():
    def select(spec):
        raise DeviceError(f"device {spec} is not available")

    panel = RuntimePanel(discover=fake_runtime, select=select)
    panel.choice.value = "cuda:0"
    panel.apply_button.click()
    assert "device cuda:0 is not available" in outputs_text(panel.messages)


def test_runtime_panel_applies_for_real():
    before = runtime.install(runtime.RuntimeState(visible_at_start=None, kernel_id=lambda: None))
    try:
        panel = RuntimePanel()
        panel.choice.value = "cpu"
        selection = panel.apply()
        assert selection.spec == "cpu" and runtime.selected() == "cpu"
        assert "the CPU" in panel.status.value
    finally:
        runtime.install(before)


# ---------------------------------------------------------------- a real kernel


@pytest.fixture
def kernel(tmp_path):
    jupyter_client = pytest.importorskip("jupyter_client")
    km = jupyter_client.KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, files.STATE_ENV: str(tmp_path),
                                             "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run_in(kc, code: str, timeout=60) -> list[dict]:
    """Execute code; return its iopub display/stream/error messages' content."""
    seen = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda m: seen.append(m))
    errors = [m["content"] for m in seen if m["msg_type"] == "error"]
    assert reply["content"]["status"] == "ok", errors
    return seen


def value_of(kc, expression: str):
    out = run_in(kc, f"import json as _j; print(_j.dumps({expression}))")
    text = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream")
    return json.loads(text.strip().splitlines()[-1])


@pytest.mark.slow
def test_widgets_in_a_real_kernel(kernel):
    km, kc = kernel
    out = run_in(kc, "%load_ext colabmagic\n%resources --interval 0.5")
    (shown,) = [m["content"]["data"] for m in out if m["msg_type"] == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in shown
    assert shown["text/plain"].startswith("RAM")  # what viewers without widgets show
    time.sleep(1.6)  # the monitor refreshes on its own thread while the kernel is idle
    probe = "__import__('colabmagic.magics.resources', fromlist=['_views'])._views[-1]"
    assert value_of(kc, f"{probe}.refreshes") >= 3
    assert value_of(kc, f"{probe}.running") is True
    km.interrupt_kernel()  # an interrupt of the idle kernel stops the refresh
    deadline = time.time() + 10
    while value_of(kc, f"{probe}.running") and time.time() < deadline:
        time.sleep(0.2)
    assert value_of(kc, f"{probe}.running") is False
    assert value_of(kc, f"'interrupted' in {probe}.status.value") is True

    out = run_in(kc, "%session --limit 2h")
    (shown,) = [m["content"]["data"] for m in out if m["msg_type"] == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in shown and "left of 2h" in shown["text/plain"]
    out = run_in(kc, "%runtime")
    (shown,) = [m["content"]["data"] for m in out if m["msg_type"] == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in shown and "cpu" in shown["text/plain"]


# ---------------------------------------------------------------- in a real browser


def html_manager_dist() -> Path:
    """@jupyter-widgets/html-manager's dist/ folder: $COLABMAGIC_HTML_MANAGER, a cached copy, or
    fetched once with `npm pack` (the npm registry is reachable where node is installed)."""
    given = os.environ.get("COLABMAGIC_HTML_MANAGER")
    if given:
        return Path(given)
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "colabmagic" / f"html-manager-{HTML_MANAGER}"
    dist = cache / "package" / "dist"
    if (dist / "embed.js").is_file():
        return dist
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("needs @jupyter-widgets/html-manager: set COLABMAGIC_HTML_MANAGER or install npm")
    cache.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run([npm, "pack", f"@jupyter-widgets/html-manager@{HTML_MANAGER}", "--silent"],
                            cwd=cache, capture_output=True, text=True, timeout=300)
    if packed.returncode != 0:
        pytest.skip(f"npm pack @jupyter-widgets/html-manager failed: {packed.stderr.strip()[-300:]}")
    subprocess.run(["tar", "xzf", packed.stdout.strip().splitlines()[-1]], cwd=cache, check=True)
    return dist


def ink(image) -> int:
    """How many pixels are dark enough to be text (the widgets draw near-black text on white)."""
    return sum(image.convert("L").histogram()[:110])


def filled_from_left(image, colour: str, tolerance: int = 24) -> int:
    """How many pixels of the track's middle row have the bar's fill colour (#rrggbb)."""
    wanted = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    rgb = image.convert("RGB")
    row = [rgb.getpixel((x, rgb.height // 2)) for x in range(rgb.width)]
    return sum(1 for pixel in row if all(abs(a - b) <= tolerance for a, b in zip(pixel, wanted)))


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


@pytest.mark.slow
def test_widgets_drawn_in_chromium(tmp_path, fake, fake_nvml):
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = require_chromium()
    dist = html_manager_dist()
    from ipywidgets import VBox
    from ipywidgets.embed import embed_minimal_html

    fake_nvml([FakeGpu()])
    sess = Session(limit=2 * 3600, kernel_id="b", started_at=fake.now - 754, clock=fake,
                   notify=lambda m: None, persist=False)
    countdown = SessionView(sess, ticker=ManualTicker)
    reading = snapshot(processes=False)
    # RAM 37 % used: a fill whose width the screenshot can measure, whatever this machine holds
    reading = dataclasses.replace(reading, host=dataclasses.replace(
        reading.host, memory_total=16 * GiB, memory_used=round(0.37 * 16 * GiB)))
    monitor = ResourcesView(lambda: reading, ticker=ManualTicker)
    panel = RuntimePanel(discover=fake_runtime, select=lambda spec: runtime.Selection(
        spec, True, False, f"{spec}: %train uses Tesla T4 when --device is not given"))
    panel.choice.value = "cuda:1"
    panel.apply_button.click()
    page_file = tmp_path / "widgets.html"
    embed_minimal_html(page_file, views=[VBox([panel.widget, countdown.widget, monitor.widget])],
                       title="colabmagic widgets", requirejs=False)
    html = page_file.read_text()
    assert "application/vnd.jupyter.widget-state+json" in html

    def serve(route):
        url = route.request.url
        if url == "http://colabmagic.test/widgets.html":
            return route.fulfill(body=html, content_type="text/html")
        if "/@jupyter-widgets/html-manager@" in url and "/dist/" in url:
            local = dist / url.split("/dist/", 1)[1].split("?")[0]
            if local.is_file():
                return route.fulfill(path=str(local))
        return route.abort()  # no network: nothing else may load

    shot = tmp_path / "shots" / "widgets.png"
    shot.parent.mkdir()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.route("**/*", serve)
            page.goto("http://colabmagic.test/widgets.html")
            page.wait_for_selector(".colabmagic-resources .widget-hprogress", timeout=30_000)
            page.screenshot(path=str(shot), full_page=True)
            text = page.inner_text("body")
            bar_width = page.eval_on_selector(".colabmagic-resources .progress-bar",
                                              "e => e.getBoundingClientRect().width")
            boxes = {}  # each widget's own screenshot, and each bar's track
            for name in ("runtime", "session", "resources"):
                boxes[name] = shot.parent / f"{name}.png"
                page.locator(f".colabmagic-{name}").screenshot(path=str(boxes[name]), animations="disabled")
            tracks = page.locator(".colabmagic-resources .widget-hprogress .progress")
            for key in ("ram", "gpu0mem"):
                boxes[key] = shot.parent / f"{key}.png"
                tracks.nth(list(monitor.rows).index(key)).screenshot(path=str(boxes[key]), animations="disabled")
        finally:
            browser.close()
    for expected in ("Change runtime type", "cuda:1: Tesla T4", "Apply", "%train uses Tesla T4",
                     "1:47:26", "left of 2h", "idle", "Extend 1 h", "RAM", "CPU", "Disk", "GPU 0 RAM",
                     "3.0 GiB / 40.0 GiB (8%)"):
        assert expected in text, f"{expected!r} not drawn; page text: {text[:600]!r}"
    assert bar_width > 0  # the RAM bar is drawn, not only its label
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 900 and height >= 400
    from PIL import Image

    for name in ("runtime", "session", "resources"):  # text is drawn in each widget's own box
        with Image.open(boxes[name]) as box:
            assert box.width > 100 and box.height > 20, (name, box.size)
            assert ink(box) > 300, f"{name}: {ink(box)} text-coloured pixels drawn"
    for key, fraction in (("ram", 0.37), ("gpu0mem", 3 / 40)):  # the fill ends where the reading says
        colour = monitor.rows[key].bar.style.bar_color
        with Image.open(boxes[key]) as track:
            filled = filled_from_left(track, colour)
            expected = fraction * track.width
            assert abs(filled - expected) <= max(3, 0.02 * track.width), \
                f"{key}: {filled} of {track.width} px filled with {colour}, {expected:.0f} expected"
