"""The Colab layer (colabmagic/colab/) and the toolbar's HTTP errors (colabmagic/server/) in Chinese:
real calls with COLABMAGIC_LANG=zh_CN that raise, print or answer their messages from the compiled
zh_CN catalogue (parts/colab.po, compiled by `make catalogue`), with numbers, option names, paths
and code exactly as the English messages have them.
"""

from __future__ import annotations

import functools
import json

import pytest
import tornado.httpclient

from colabmagic import locale
from colabmagic.colab import compat, files, form_parameters, forms, kaggle_cli, output, userdata
from colabmagic.colab.failure import ColabAPIError
from conftest import run_ok

pytest.importorskip("jupyter_server")
# pytest-jupyter's fixtures for this module only (see test_server.py)
from pytest_jupyter.jupyter_server import *  # noqa: E402,F403


@pytest.fixture
def chinese(monkeypatch, tmp_path):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLABMAGIC_CONTENT", str(tmp_path / "content"))
    assert locale.language() == "zh_CN"


def test_a_colab_call_that_cannot_work_here_is_one_chinese_line_then_english_again(chinese, monkeypatch):
    with pytest.raises(ColabAPIError) as info:
        output.serve_kernel_port_as_iframe(70000)
    assert info.value._render_traceback_() == ["ColabAPIError: port 必须是 TCP 端口号（1-65535），而不是 70000"]

    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(userdata.SecretNotFoundError) as info:
        userdata.get("HF_TOKEN")
    assert str(info.value) == "密钥 HF_TOKEN 不存在。请用 %secrets set HF_TOKEN 设置，或设置同名的环境变量"

    with pytest.raises(ColabAPIError, match=r"^!kaggle datasets download 需要指定一个数据集$"):
        kaggle_cli.run("kaggle datasets download -p data")

    monkeypatch.setenv("COLABMAGIC_LANG", "en")  # read at each message: the next one is English
    with pytest.raises(ColabAPIError, match=r"^port must be a TCP port number \(1-65535\), not 70000$"):
        output.serve_kernel_port_as_iframe(70000)


def test_files_say_where_they_went_in_chinese(chinese, tmp_path, monkeypatch, capsys):
    downloads = tmp_path / "downloads"
    monkeypatch.setenv("COLABMAGIC_DOWNLOAD_DIR", str(downloads))
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    files.download(str(data))
    assert capsys.readouterr().out == f"没有浏览器连接这个内核：已将 train.csv 复制到 {downloads / 'train.csv'}\n"
    with pytest.raises(FileNotFoundError, match=r"^找不到文件：nope\.csv$"):
        files.download("nope.csv")
    bundle = files.offer_bundle("/lab/", "TOKEN", "train.csv")
    assert bundle["text/plain"] == "下载 train.csv"
    assert ">下载 train.csv</a>" in bundle["text/html"]


def test_a_bad_form_annotation_is_one_chinese_line_and_the_cell_still_runs(chinese, shell, capsys):
    forms.enable(shell)
    try:
        run_ok(shell, 'epochs = 3 #@param {type:"slider", min:10, max:1}\nran = epochs')
    finally:
        forms.disable(shell)
    assert shell.user_ns["ran"] == 3
    assert capsys.readouterr().err.strip() == (
        "colabmagic：表单注释有误，第 1 行：滑块需要 min < max 且 step > 0（min 10，max 1，step 1）；"
        "单元格会忽略这条注释照常运行")


def test_compat_status_and_its_notes_in_chinese(chinese, shell, tmp_path, capsys):
    compat.switch_for(shell).announced.clear()  # each note is said once per kernel: this is a fresh one
    status = compat.set_compat(shell, "on")
    try:
        root = tmp_path / "content"
        assert str(status) == (f"Colab 兼容模式已开启（由 %colab_compat 开启）：google.colab 即 colabmagic.colab，"
                               f"内容根目录是 {root}；%colab_compat off 可关闭")
        run_ok(shell, 'from google.colab import output\npath = "/content/sample_data"')
        assert shell.user_ns["path"] == f"{root}/sample_data"
    finally:
        off = compat.set_compat(shell, "off")
    assert str(off) == "Colab 兼容模式已关闭（%colab_compat on 可开启）"
    assert capsys.readouterr().out.splitlines() == [
        "colab_compat: 这里的 google.colab 就是 colabmagic.colab（在本机上提供 Colab 的 API）",
        f"colab_compat: /content 路径已映射到 {root}",
    ]


def test_tagging_a_colab_notebook_for_papermill_prints_chinese(chinese, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    notebook = tmp_path / "from_colab.ipynb"
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# MNIST"},
             {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": 'lr = 0.01 #@param {type:"number"}\nepochs = 5 #@param {type:"integer"}'}]
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert form_parameters.main([str(notebook)]) == 0
    assert capsys.readouterr().out == "已将第 2 个单元格（lr, epochs）标为 papermill 的参数单元格\n"
    assert form_parameters.main(["missing.ipynb"]) == 2
    assert capsys.readouterr().err.startswith("错误：无法读取笔记本 missing.ipynb：[Errno 2]")


# --- the toolbar's HTTP errors, from a real jupyter_server --------------------------------------

# an idle kernel the server tracks, and the async wrapper, as test_server.py makes them
from test_server import kernel_id, run_in_loop  # noqa: E402,F401  (a fixture)


@pytest.fixture
def jp_server_config(chinese):
    return {"ServerApp": {"jpserver_extensions": {"colabmagic.server": True}},
            "ColabMagicServer": {"enforce_interval": 0.0}}


async def answer(request) -> tuple[int, str]:
    with pytest.raises(tornado.httpclient.HTTPClientError) as info:
        await request
    return info.value.code, json.loads(info.value.response.body)["message"]


@run_in_loop
async def test_the_toolbars_http_errors_in_chinese(jp_fetch, kernel_id):
    api = ("colabmagic", "api")
    assert await answer(jp_fetch(*api, "session", "no-such-kernel")) == (404, "没有正在运行的内核 no-such-kernel")
    assert await answer(jp_fetch(*api, "session", method="POST", body="{}")) == (
        405, "请 POST 到 /colabmagic/api/session/<kernel_id>")
    assert await answer(jp_fetch(*api, "download", "no-such-token")) == (
        404, "没有这个下载：它已过期（一小时后失效），或文件已不在了")
    post = functools.partial(jp_fetch, *api, "session", kernel_id, method="POST")
    assert await answer(post(body="[1]")) == (400, "请求体必须是 JSON 对象")
    assert await answer(post(body=json.dumps({"limit": [12]}))) == (
        400, "limit 应为 '12h' 这样的时长或秒数，而不是 [12]")
    assert await answer(post(body=json.dumps({"action": "extend", "seconds": 10 ** 9}))) == (
        400, "延长的秒数应在 1 到 604800 之间，而不是 1000000000")
    assert await answer(post(body=json.dumps({"action": "pause"}))) == (
        400, "未知操作 'pause'：请用 start、extend 或 limit")
