"""The toolbar in Chinese: a real `jupyter lab` whose language setting is zh_CN, driven by Playwright
through Debian's Chromium, in JupyterLab and in Notebook 7's notebook page. JupyterLab switches its UI, and serves an extension's catalogue, only
for a language whose pack is installed (jupyterlab-language-pack-zh-CN, in the test extra); our
catalogue reaches it through the `jupyterlab.locale` entry point (pyproject.toml), which an install
of this checkout registers.

The lab serves this checkout's build of the extension, put first on JUPYTER_PATH (as
test_colab_forms_browser.py does). Without the language pack or the entry point the tests skip,
naming what to install; under CI (which installs both) they fail. COLABMAGIC_SKIP_BROWSER=1 skips
this file, as it does test_lab_browser.py.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from system_tools import CHROMIUM, IN_CI, require_chromium
from test_lab_browser import ARTIFACTS, CHROMIUM_FLAGS, put_empty_notebook, running_lab

ROOT = Path(__file__).resolve().parent.parent
BUILT = ROOT / "colabmagic" / "labextension"
pytestmark = pytest.mark.slow


def require(present: bool, message: str) -> None:
    if not present:
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not (BUILT / "package.json").exists():
        pytest.fail("the JupyterLab extension is not built: run `make lab` (or jlpm build in labextension/)")
    require("zh_CN" in {e.name for e in entry_points(group="jupyterlab.languagepack")},
            "needs JupyterLab's Chinese language pack: pip install jupyterlab-language-pack-zh-CN "
            "(the test extra; make test installs it from the lock)")
    require("colabmagic" in {e.name for e in entry_points(group="jupyterlab.locale")},
            "colabmagic's jupyterlab.locale entry point is not registered: reinstall this checkout "
            "(pip install -e .; make test does)")
    require_chromium()
    home = tmp_path_factory.mktemp("lab-zh")
    (home / "data" / "labextensions").mkdir(parents=True)
    (home / "data" / "labextensions" / "colabmagic").symlink_to(BUILT)
    # the language a user picks in Settings → Language
    settings = home / "settings" / "@jupyterlab" / "translation-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"locale": "zh_CN"}))
    root = home / "root"
    root.mkdir()
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "JUPYTER_PATH": str(home / "data"), "PYTHONPATH": path,
           "COLABMAGIC_STATE_DIR": str(home / "state"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "ws"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    with running_lab(home, root, env) as server:
        yield server


def test_the_server_serves_our_catalogue_with_jupyterlabs(lab):
    """What the page's TranslationManager fetches: one catalogue per domain, ours among them."""
    data = lab.api("lab/api/translations/zh_CN")["data"]
    assert data["colabmagic"][""]["language"] == "zh-CN"
    assert data["colabmagic"]["Start session"] == ["开始会话"]
    assert data["jupyterlab"][""]["language"] == "zh-CN"


def test_the_toolbar_speaks_chinese(lab):
    from playwright.sync_api import sync_playwright

    put_empty_notebook(lab, "zh.ipynb")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{lab.url}/lab/tree/zh.ipynb?token={lab.token}")
            # JupyterLab's own words come from the language pack: the UI is in Chinese at all
            page.wait_for_selector("#jp-MainMenu .lm-MenuBar-itemLabel:text-is('文件')")
            session = page.locator(".jp-NotebookPanel .cm-Session")
            page.wait_for_selector(".jp-NotebookPanel .cm-Session:text-is('开始会话')")  # the kernel is up
            assert "%session" in session.get_attribute("title")  # the magic's name stays as it is
            assert "时限 12h" in session.get_attribute("title")
            page.wait_for_selector(".jp-NotebookPanel .cm-bar[data-key='ram'][title*='本内核']", timeout=15_000)
            ram = page.locator(".jp-NotebookPanel .cm-bar[data-key='ram']")
            assert ram.locator(".cm-bar-label").inner_text() == "RAM"
            assert ram.get_attribute("title").startswith("系统内存：")
            assert "GiB" in ram.get_attribute("title")  # units stay
            disk = page.locator(".jp-NotebookPanel .cm-bar[data-key='disk']")
            assert disk.locator(".cm-bar-label").inner_text() == "磁盘"
            assert page.locator(".jp-NotebookPanel .cm-Runtime").inner_text() == "运行时"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.locator(".jp-NotebookPanel .cm-Toolbar").screenshot(path=str(ARTIFACTS / "toolbar-zh.png"))

            page.click(".jp-NotebookPanel .cm-Runtime")
            dialog = page.locator(".jp-Dialog")
            dialog.locator("text=硬件加速器").wait_for()
            assert dialog.locator(".jp-Dialog-header").inner_text() == "更改运行时类型"
            assert "自动" in dialog.locator("input[value='auto']").locator("xpath=..").inner_text()
            assert dialog.locator(".jp-Dialog-button.jp-mod-accept").inner_text() == "保存"
            dialog.screenshot(path=str(ARTIFACTS / "runtime-dialog-zh.png"))
            dialog.locator("input[value='cpu']").check()
            dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
            page.wait_for_selector(".jp-NotebookPanel .cm-Runtime:text-is('CPU')")  # a device's name stays

            session.click()  # starts the session clock: the countdown says what is left in Chinese
            page.wait_for_selector(".jp-NotebookPanel .cm-Session[data-seconds-left]")
            assert session.inner_text().startswith("剩余 ")
            assert "会话时限 12 h" in session.get_attribute("title")
        finally:
            browser.close()


def test_notebook_7_shows_the_same_words(lab):
    """Notebook 7 (its /notebooks/ page, the same server and language setting) loads the same catalogue."""
    from playwright.sync_api import sync_playwright

    put_empty_notebook(lab, "zh-nb7.ipynb")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.goto(f"{lab.url}/notebooks/zh-nb7.ipynb?token={lab.token}")
            page.wait_for_selector("#main-panel .jp-NotebookPanel")  # Notebook 7's shell
            page.wait_for_selector(".jp-NotebookPanel .cm-Session:text-is('开始会话')")
            assert page.locator(".jp-NotebookPanel .cm-Runtime").inner_text() == "运行时"
            disk = page.locator(".jp-NotebookPanel .cm-bar[data-key='disk'] .cm-bar-label")
            assert disk.inner_text() == "磁盘"
        finally:
            browser.close()
