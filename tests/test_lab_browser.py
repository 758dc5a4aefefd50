"""The JupyterLab toolbar in a real browser: a real `jupyter lab` on 127.0.0.1 with a token, driven
by Playwright through Debian's Chromium (never a downloaded browser).

It opens a notebook and checks that the bars show the numbers the API returns, picks CPU in
"Change runtime type" and sees the kernel report it (and the notebook metadata carry Colab's
keys), and starts a session and sees the countdown decrease and turn amber near its end. The same
server serves Notebook 7, whose notebook page gets the same toolbar items.
Screenshots land in ui-tests/artifacts/ (git-ignored).

The built extension is required: set COLABMAGIC_SKIP_BROWSER=1 to skip this file on a machine
without it. Anywhere else (CI sets nothing) a missing build or browser is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from system_tools import CHROMIUM, require_chromium

if os.environ.get("COLABMAGIC_SKIP_BROWSER") == "1":
    pytest.skip("COLABMAGIC_SKIP_BROWSER=1", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "ui-tests" / "artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run"]
pytestmark = pytest.mark.slow


def built_extension() -> Path | None:
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("labextensions"):
        candidate = Path(folder) / "colabmagic" / "package.json"
        if candidate.exists():
            return candidate.parent
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    def __init__(self, url: str, token: str, root: Path, process: subprocess.Popen, log: Path):
        self.url, self.token, self.root, self.process, self.log = url, token, root, process, log

    def api(self, path: str, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/{path}", data=data, method=method or ("POST" if data else "GET"),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")


@contextlib.contextmanager
def running_lab(home: Path, root: Path, env: dict[str, str], *options: str):
    """A real `jupyter lab` serving ROOT on a free 127.0.0.1 port with a fresh token, its output in
    HOME/lab.log, and OPTIONS after the ones every test needs; a Lab once it answers, stopped after."""
    token, port = uuid.uuid4().hex, free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *options]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")
    log = home / "lab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    server = Lab(f"http://127.0.0.1:{port}", token, root, process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.api("api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if built_extension() is None:
        pytest.fail("the JupyterLab extension is not built or not installed: run `make lab` "
                    "(or set COLABMAGIC_SKIP_BROWSER=1 to skip the browser tests here)")
    require_chromium()
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    root.mkdir()
    env = {**os.environ, "COLABMAGIC_STATE_DIR": str(home / "state"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "PYTHONUNBUFFERED": "1"}
    try:
        with running_lab(home, root, env, "--ColabMagicServer.enforce_interval=1") as server:
            yield server
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(home / "lab.log", ARTIFACTS / "lab.log")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def put_empty_notebook(lab, name: str) -> None:
    """A notebook of one empty code cell on the Python 3 kernel, saved through the contents API."""
    notebook = {"type": "notebook", "content": {
        "cells": [{"cell_type": "code", "metadata": {}, "source": "", "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5}}
    lab.api(f"api/contents/{name}", notebook, method="PUT")


@pytest.fixture(scope="module")
def page(lab, browser):
    put_empty_notebook(lab, "colab.ipynb")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{lab.url}/lab/tree/colab.ipynb?token={lab.token}")
    page.wait_for_selector(".jp-NotebookPanel .cm-Toolbar .cm-bar[data-key='ram']")
    # the kernel is up once the session countdown knows it
    page.wait_for_selector(".jp-NotebookPanel .cm-Session:has-text('Start session')")
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "final.png"))
    context.close()


def kernel_id(lab) -> str:
    (session,) = [s for s in lab.api("api/sessions") if s["path"].endswith("colab.ipynb")]
    return session["kernel"]["id"]


def bar(page, key: str) -> dict:
    return page.eval_on_selector(f".jp-NotebookPanel .cm-bar[data-key='{key}']",
                                 "el => ({used: Number(el.dataset.used), total: Number(el.dataset.total),"
                                 " level: el.dataset.level, title: el.title,"
                                 " width: el.querySelector('.cm-bar-fill').style.width})")


def test_bars_show_the_numbers_the_api_returns(lab, page):
    # the first reading may predate the kernel; the next poll (2 s) names its RSS
    page.wait_for_selector(".jp-NotebookPanel .cm-bar[data-key='ram'][title*='this kernel']", timeout=15_000)
    api = lab.api("colabmagic/api/resources")
    ram = bar(page, "ram")
    assert ram["total"] == api["memory"]["totalBytes"]
    used = api["memory"]["totalBytes"] - api["memory"]["freeBytes"]
    assert abs(ram["used"] - used) < 0.1 * ram["total"]  # the page's reading is a poll older or newer
    assert "System RAM" in ram["title"] and "this kernel" in ram["title"]
    assert 0 < float(ram["width"].rstrip("%")) <= 100
    disk = bar(page, "disk")
    assert disk["total"] == api["disks"][0]["filesystem"]["totalBytes"]
    assert abs(disk["used"] - api["disks"][0]["filesystem"]["usedBytes"]) < 0.05 * disk["total"]
    gpus = page.locator(".jp-NotebookPanel .cm-bar[data-key^='gpu']").count()
    assert gpus == len(api["gpus"])
    for i, gpu in enumerate(api["gpus"]):
        assert bar(page, f"gpu{i}")["total"] == gpu["memoryTotalBytes"]
    # the same bars in the status bar
    status = page.eval_on_selector(".cm-StatusBars .cm-bar[data-key='ram']", "el => Number(el.dataset.total)")
    assert status == api["memory"]["totalBytes"]
    page.locator(".jp-NotebookPanel .cm-Toolbar").screenshot(path=str(ARTIFACTS / "toolbar.png"))


def run_cell(page, code: str, expect: str) -> str:
    """Type code into the notebook's last cell, run it, wait for output containing `expect`
    (the cell's earlier output is still there until the new one comes) and return it."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").last
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type(code)
    page.keyboard.press("Control+Enter")
    output = cell.locator(".jp-OutputArea-output", has_text=expect)
    try:
        output.first.wait_for(timeout=30_000)
    except Exception:
        raise AssertionError(f"{code!r} printed {cell.locator('.jp-OutputArea').inner_text()!r}, "
                             f"not {expect!r}") from None
    return output.first.inner_text()


def test_runtime_dialog_picks_cpu_and_the_kernel_reports_it(lab, page):
    page.click(".jp-NotebookPanel .cm-Runtime")
    dialog = page.locator(".jp-Dialog")
    dialog.locator("text=Hardware accelerator").wait_for()
    options = dialog.locator("input[name='cm-runtime']")
    specs = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "cpu" in specs and "auto" in specs
    # a fresh kernel runs on auto: the dialog says so (it used to check the first device, the CPU)
    assert dialog.locator("input[name='cm-runtime']:checked").get_attribute("value") == "auto"
    # the radios are drawn (the Dialog's jp-mod-styled gave them `appearance: none`: empty boxes)
    for radio in [options.nth(i) for i in range(options.count())]:
        drawn = radio.evaluate("el => ({appearance: getComputedStyle(el).appearance,"
                               " width: el.getBoundingClientRect().width,"
                               " height: el.getBoundingClientRect().height})")
        assert drawn["appearance"] != "none" and drawn["width"] > 0 and drawn["height"] > 0, drawn
    # the checked option stands out from the others by more than its radio
    weight = "el => getComputedStyle(el.closest('label')).fontWeight"
    assert dialog.locator("input[value='auto']").evaluate(weight) != dialog.locator("input[value='cpu']").evaluate(weight)
    dialog.screenshot(path=str(ARTIFACTS / "runtime-dialog.png"))
    dialog.locator("input[value='cpu']").check()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.wait_for_selector(".jp-NotebookPanel .cm-Runtime:text-is('CPU')")
    assert lab.api(f"colabmagic/api/runtime/{kernel_id(lab)}")["selection"]["spec"] == "cpu"
    assert run_cell(page, "import colabmagic.runtime as r; print('device:', r.selected())", "device:").strip() \
        == "device: cpu"
    # the choice is saved with Colab's keys
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 20
    metadata: dict = {}
    while metadata.get("accelerator") != "None" and time.monotonic() < deadline:
        try:
            metadata = lab.api("api/contents/colab.ipynb")["content"]["metadata"]
        except urllib.error.HTTPError as err:  # 400 "Unreadable Notebook" while the save is half-way
            if err.code != 400:
                raise
        time.sleep(0.3)
    assert metadata["accelerator"] == "None" and metadata["colab"]["gpuType"] == ""

    # a restarted kernel starts on its default device: the toolbar applies the saved choice again
    kid = kernel_id(lab)
    before = lab.api(f"colabmagic/api/runtime/{kid}")["selection"]["chosen_at"]
    page.click("#jp-MainMenu >> text=Kernel")
    page.click(".lm-Menu-itemLabel:text-is('Restart Kernel…')")
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    deadline = time.monotonic() + 30
    while lab.api(f"colabmagic/api/runtime/{kid}")["selection"]["chosen_at"] <= before:
        assert time.monotonic() < deadline, "the saved runtime was not applied after the restart"
        time.sleep(0.3)
    assert run_cell(page, "import colabmagic.runtime as r; print('after restart:', r.selected())",
                    "after restart:").strip() == "after restart: cpu"


def seconds_left(page) -> int:
    value = page.get_attribute(".jp-NotebookPanel .cm-Session", "data-seconds-left")
    assert value is not None, page.inner_text(".jp-NotebookPanel .cm-Session")
    return int(value)


def test_session_countdown_decreases_and_turns_amber(lab, page):
    session = page.locator(".jp-NotebookPanel .cm-Session")
    session.click()  # no session yet: starts one with the default 12 h limit
    page.wait_for_selector(".jp-NotebookPanel .cm-Session[data-seconds-left]")
    first = seconds_left(page)
    assert 12 * 3600 - 300 < first <= 12 * 3600  # counted from the kernel's start, as Colab does
    assert session.get_attribute("data-level") == "ok"
    time.sleep(2.5)
    second = seconds_left(page)
    assert first - 5 <= second < first  # ticking down
    assert session.inner_text().endswith("left")
    # the clock runs in the kernel, as %session's does: %train there checkpoints before it ends
    assert run_cell(page, "import colabmagic.session as cs; print('limit', cs.current().limit_seconds)",
                    "limit").strip() == "limit 43200.0"
    # 20 minutes is inside the amber band (30 min), and a click extends by an hour
    kid = kernel_id(lab)
    lab.api(f"colabmagic/api/session/{kid}", {"action": "limit", "limit": "20m"})
    page.wait_for_selector(".jp-NotebookPanel .cm-Session[data-level='warn']", timeout=15_000)
    assert seconds_left(page) <= 20 * 60
    session.screenshot(path=str(ARTIFACTS / "countdown-amber.png"))
    session.click()
    try:
        page.wait_for_selector(".jp-NotebookPanel .cm-Session[data-level='ok']", timeout=15_000)
    except Exception:
        raise AssertionError(f"no extension: {session.get_attribute('title')!r}, "
                             f"{lab.api(f'colabmagic/api/session/{kid}')}") from None
    assert 20 * 60 + 3600 - 300 < seconds_left(page) <= 20 * 60 + 3600
    state = lab.api(f"colabmagic/api/session/{kid}")
    assert state["extended_seconds"] == 3600


def test_without_the_server_extension_the_items_say_so(lab, browser):
    """A lab whose /colabmagic/api/ answers Jupyter's plain 404 page (extension not enabled)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.route("**/colabmagic/api/**", lambda route: route.fulfill(
            status=404, content_type="text/html", body="<html><body>404 : Not Found</body></html>"))
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{lab.url}/lab/tree/colab.ipynb?token={lab.token}")
        hint = page.locator(".jp-NotebookPanel .cm-ResourceBars .cm-hint")
        hint.wait_for()
        page.wait_for_selector(".jp-NotebookPanel .cm-ResourceBars .cm-hint:has-text('server extension not enabled')")
        session = page.locator(".jp-NotebookPanel .cm-Session")
        page.wait_for_selector(".jp-NotebookPanel .cm-Session:has-text('server extension not enabled')")
        assert "pip install" in session.get_attribute("title")
        page.locator(".jp-NotebookPanel .cm-Toolbar").screenshot(path=str(ARTIFACTS / "no-server-extension.png"))
    finally:
        context.close()


def test_notebook_7_shows_the_same_toolbar_and_its_runtime_dialog_works(lab, browser):
    """Notebook 7 (its /notebooks/ page, served by the same Jupyter server) gets the same items in its
    notebook toolbar; it has no status bar, so the status-bar bars are simply not there."""
    put_empty_notebook(lab, "nb7.ipynb")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{lab.url}/notebooks/nb7.ipynb?token={lab.token}")
        page.wait_for_selector("#main-panel .jp-NotebookPanel")  # Notebook 7's shell, not JupyterLab's
        assert page.locator("#jp-main-dock-panel").count() == 0
        page.wait_for_selector(".jp-NotebookPanel .cm-Toolbar .cm-bar[data-key='ram']")
        page.wait_for_selector(".jp-NotebookPanel .cm-Session:has-text('Start session')")  # the kernel is up
        api = lab.api("colabmagic/api/resources")
        assert bar(page, "ram")["total"] == api["memory"]["totalBytes"]
        assert bar(page, "disk")["total"] == api["disks"][0]["filesystem"]["totalBytes"]
        assert page.locator(".cm-StatusBars").count() == 0
        page.locator(".jp-NotebookPanel .cm-Toolbar").screenshot(path=str(ARTIFACTS / "notebook7-toolbar.png"))

        page.click(".jp-NotebookPanel .cm-Runtime")
        dialog = page.locator(".jp-Dialog")
        dialog.locator("text=Hardware accelerator").wait_for()
        dialog.locator("input[value='cpu']").check()
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        page.wait_for_selector(".jp-NotebookPanel .cm-Runtime:text-is('CPU')")
        assert run_cell(page, "import colabmagic.runtime as r; print('device:', r.selected())", "device:").strip() \
            == "device: cpu"
        page.screenshot(path=str(ARTIFACTS / "notebook7.png"))
    finally:
        context.close()
        for session in lab.api("api/sessions"):
            if session["path"].endswith("nb7.ipynb"):
                request = urllib.request.Request(f"{lab.url}/api/sessions/{session['id']}", method="DELETE",
                                                 headers={"Authorization": f"token {lab.token}"})
                urllib.request.urlopen(request, timeout=30).close()
