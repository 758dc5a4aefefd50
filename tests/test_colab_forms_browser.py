"""Colab forms in a real JupyterLab, driven by Playwright through Debian's Chromium: a form cell
opens with its code collapsed, runs, shows its slider; moving the slider writes the new value into
the cell's source, re-runs the cell (`run: "auto"`), and the saved notebook keeps the value, the
collapsed code and the papermill `parameters` tag.

The lab serves this checkout's build of the extension (colabmagic/labextension, `make lab` or
`jlpm build` in labextension/), put first on JUPYTER_PATH, whatever the venv links to.
COLABMAGIC_SKIP_BROWSER=1 skips this file, as it does test_lab_browser.py.
"""

from __future__ import annotations

import os
import time
import urllib.error
from pathlib import Path

import pytest

from system_tools import CHROMIUM, require_chromium
from test_lab_browser import ARTIFACTS, CHROMIUM_FLAGS, running_lab

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "colabmagic" / "labextension"
pytestmark = pytest.mark.slow

FORM = ('#@title Knobs { run: "auto", display-mode: "form" }\n'
        'epochs = 3 #@param {type:"slider", min:1, max:10, step:1}\n'
        'print("epochs is", epochs)')
NOTEBOOK = {"cells": [
    {"cell_type": "code", "id": "enable", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "from colabmagic.colab import forms\nforms.enable(get_ipython())"},
    {"cell_type": "code", "id": "knobs", "metadata": {}, "outputs": [], "execution_count": None, "source": FORM}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (BUILT / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: run `make lab` (or jlpm build in labextension/)")
    require_chromium()
    home = tmp_path_factory.mktemp("forms-lab")
    (home / "data" / "labextensions").mkdir(parents=True)
    (home / "data" / "labextensions" / "colabmagic").symlink_to(BUILT)
    root = home / "root"
    root.mkdir()
    env = {**os.environ, "JUPYTER_PATH": str(home / "data"), "PYTHONPATH": str(ROOT),
           "COLABMAGIC_STATE_DIR": str(home / "state"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    with running_lab(home, root, env, "--LabApp.expose_app_in_browser=True",
                     "--JupyterNotebookApp.expose_app_in_browser=True") as server:
        yield server


def knobs_source(page) -> str:
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets"
                         ".find(c => c.model.id === 'knobs').model.sharedModel.getSource()")


def saved_cell(lab, name: str) -> dict:
    """The knobs cell as the saved file holds it (a save half-way answers 400 "Unreadable Notebook")."""
    try:
        cells = lab.api(f"api/contents/{name}")["content"]["cells"]
    except urllib.error.HTTPError as err:
        if err.code != 400:
            raise
        return {}
    return next(cell for cell in cells if cell["id"] == "knobs")


def move_slider_and_save(lab, name: str, path: str) -> None:
    from playwright.sync_api import sync_playwright

    lab.api(f"api/contents/{name}", {"type": "notebook", "content": NOTEBOOK}, method="PUT")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{lab.url}/{path}/{name}?token={lab.token}")
            knobs = page.locator(".jp-NotebookPanel .jp-CodeCell").nth(1)
            knobs.locator(".jp-InputPlaceholder").wait_for()  # display-mode "form": code collapsed on open
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel")
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'")
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            knobs.locator(".jp-OutputArea-output", has_text="epochs is 3").wait_for()
            slider = knobs.locator(".cm-Form .widget-slider")
            slider.wait_for()
            assert slider.locator(".widget-readout").inner_text() == "3"

            # a click on the track where 4 sits (1..10): one change, reported once (continuous_update=False);
            # Notebook 7 does not pass the handle's arrow keys on
            track = slider.locator(".noUi-target").bounding_box()
            page.mouse.click(track["x"] + track["width"] * (4 - 1) / (10 - 1), track["y"] + track["height"] / 2)
            knobs.locator(".jp-OutputArea-output", has_text="epochs is 4").wait_for()
            assert knobs_source(page) == FORM.replace("epochs = 3", "epochs = 4")
            assert page.locator(".jp-NotebookPanel .jp-CodeCell").count() == 2
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            knobs.screenshot(path=str(ARTIFACTS / f"colab-form-{path}.png"))

            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while "epochs = 4" not in "".join(saved_cell(lab, name).get("source", "")):
                assert time.monotonic() < deadline, f"not saved: {saved_cell(lab, name)}"
                time.sleep(0.3)
            cell = saved_cell(lab, name)
            assert cell["metadata"]["jupyter"]["source_hidden"] is True
            assert cell["metadata"]["tags"] == ["parameters"]  # papermill runs it with -p epochs N
        finally:
            browser.close()


def test_moving_a_slider_rewrites_the_cell_and_reruns_it(lab):
    move_slider_and_save(lab, "forms.ipynb", "lab/tree")


def test_the_same_in_notebook_7(lab):
    move_slider_and_save(lab, "forms7.ipynb", "notebooks")
