"""The magics, the widgets and the top-level modules in Chinese (COLABMAGIC_LANG=zh_CN): real calls
through a real InteractiveShell and real widget objects, read back in the zh_CN catalogue's words,
with the numbers, units, option names and paths in them as they are.

Needs the compiled catalogue (`make catalogue`, python .ci/catalogue.py), which holds
parts/magics.po's messages."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from colabmagic import columns, runtime, secrets, units
from colabmagic.errors import ConfigError
from colabmagic.session import Session
from colabmagic.timing import TimingResult
from colabmagic.widgets.runtime_panel import RuntimePanel
from colabmagic.widgets.session_view import SessionView
from colabmagic.widgets.ticker import ManualTicker
from conftest import run_ok

GiB = 2**30


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A HOME of its own (the secrets file lives under ~/.config) and no credentials from outside."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in secrets.WELL_KNOWN + ("MY_TOKEN",):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def usage_error(shell, cell: str) -> str:
    result = shell.run_cell(cell, store_history=False)
    assert type(result.error_in_exec) is UsageError, (cell, result.error_in_exec)
    return str(result.error_in_exec)


# ---------------------------------------------------------------- errors, as %magic shows them


def test_a_magics_usage_errors_in_chinese(chinese, shell):
    assert usage_error(shell, "%secrets set") == "%secrets set 需要一个 NAME，例如 %secrets set KAGGLE_API_TOKEN"
    assert usage_error(shell, "%gpu_info --count 3") == "--count 需要和 --watch SECONDS 一起使用"
    assert usage_error(shell, "%kaggle_get") == (
        "%kaggle_get 需要以下之一：owner/dataset、kaggle.com 网址，或 -c COMPETITION")
    # the shared checks of every magic: -v and the shell-like split of the line
    assert usage_error(shell, "%secrets -v 1x") == "-v 需要一个 Python 变量名，而不是 '1x'"
    assert usage_error(shell, '%gpu_info --watch "3') == (
        '%gpu_info: 缺少配对的 " 引号：请补上（引号能让带空格的路径保持完整："my data/train set.csv"）')


def test_an_argument_check_keeps_argparse_prefix_and_the_number(chinese, shell):
    message = usage_error(shell, "%gpu_info --watch 0")
    assert message.endswith("argument --watch: 秒数应 > 0，实际为 '0'"), message
    message = usage_error(shell, "%tensorboard_inline --height 50")
    assert message.endswith("argument --height: 像素数应 >= 100，实际为 '50'"), message


def test_a_core_error_reaches_the_magic_in_chinese(chinese, shell):
    assert usage_error(shell, "%session --extend none") == "--extend 需要 30m 或 1h 这样的时长，而不是 'none'"
    message = usage_error(shell, "%%timeit_gpu -n 0\nx = 1")
    assert message == "每轮的循环次数（-n）必须是 >= 1 的整数，而不是 0"
    with pytest.raises(ConfigError) as caught:
        units.parse_duration("8785h")
    assert str(caught.value) == (
        "时长必须大于 0 且不超过 366 天，而不是 '8785h'：请使用 90m、2h 或 1h30m 这样的时长")


def test_the_language_is_read_at_each_message(shell, monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "en")
    assert usage_error(shell, "%gpu_info --count 3") == "--count needs --watch SECONDS"
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")
    assert usage_error(shell, "%gpu_info --count 3") == "--count 需要和 --watch SECONDS 一起使用"


# ---------------------------------------------------------------- what magics print


def test_secrets_are_stored_and_listed_in_chinese(chinese, shell, home, capsys, monkeypatch):
    file = secrets.set("MY_TOKEN", "v")
    monkeypatch.setenv("MY_TOKEN", "from-env")
    run_ok(shell, "%secrets delete MISSING_NAME")
    assert capsys.readouterr().out == f"{file} 中没有 MISSING_NAME：没有删除任何内容\n"
    listing = run_ok(shell, "%secrets -o")
    header, row = str(listing).splitlines()
    assert header.startswith("名称") and header.endswith("  来源")
    assert columns.width(header) == len("MY_TOKEN") + 2 + columns.width("来源")  # the columns line up on screen
    assert row == f"MY_TOKEN  环境变量（覆盖 {file} 中的值）"
    assert "<th>名称</th><th>来源</th>" in listing._repr_html_() and "（覆盖文件中的值）" in listing._repr_html_()


def test_the_timing_summary_in_chinese(chinese, shell):
    result = run_ok(shell, "%%timeit_gpu -n 1000 -r 3 -q -o\nx = 1")
    line = str(result).splitlines()[0]
    assert "（3 轮、每轮 1,000 次循环的中位数 " in line and "标准差）" in line, line
    assert line.startswith("每次循环 ") and line.endswith("，设备：CPU（无 CUDA 设备）"), line
    assert result.loops == 1000 and result.repeat == 3
    on_gpu = TimingResult([0.5], 1000, 1, "cuda", "NVIDIA H100", flush_l2=True, peak_memory=3 * GiB,
                          memory_before=2**20)
    assert str(on_gpu).splitlines()[1] == (
        "显存峰值比计时前已分配的 1.0 MiB 多 3.0 GiB，每轮运行前清空 L2 缓存（每轮 1,000 次循环中只有第一次从冷缓存开始；-n 1 则每次都是）")


def test_stopping_monitors_is_counted_in_chinese(chinese, shell, capsys):
    run_ok(shell, "%resources --stop")
    assert capsys.readouterr().out == "已停止 0 个实时监视器。\n"


def test_a_chinese_header_is_padded_by_the_columns_it_takes():
    assert columns.width("名称") == 4 and columns.width("MY_TOKEN") == 8 and columns.width("（）") == 4
    assert columns.padded("名称", 8) == "名称    " and columns.padded("name", 8) == f"{'name':<8}"
    assert columns.padded("名称名称名称", 8) == "名称名称名称"  # wider than the column: as it is


# ---------------------------------------------------------------- widgets


from test_widgets import Clock, outputs_text  # noqa: E402  (the widget tests' injected clock and output reader)


def test_the_session_countdown_in_chinese(chinese):
    clock = Clock()
    session = Session(limit=3600, kernel_id="zh", started_at=clock.now, clock=clock, notify=lambda m: None,
                      persist=False)
    view = SessionView(session, ticker=ManualTicker)
    assert view.extend_button.description == "延长 1 小时"
    assert view.extend_button.tooltip == "%session --extend 1h"  # the magic line: code stays code
    clock.now += 3600 - 500
    view.refresh()
    assert "已运行 51m40s · 空闲 " in view.details.value and " · 到达上限时：<b>warn</b>" in view.details.value
    view.extend_button.click()
    assert "已延长 1 小时：还剩 1:08:20" in outputs_text(view.messages)
    view.close()


def two_gpus(selected="auto"):
    return runtime.Runtime(devices=[
        runtime.Device("cpu", "cpu", "AMD EPYC", 16 * GiB, {"logical_cores": 8}),
        runtime.Device("cuda:0", "cuda", "NVIDIA A100-SXM4-40GB", 40 * GiB, {"compute_capability": "8.0"}),
        runtime.Device("cuda:1", "cuda", "Tesla T4", 15 * GiB, {"compute_capability": "7.5"}),
    ], selected=selected, gpu_problem=None, cuda_initialized=False, visible_devices=None)


def test_the_runtime_panel_in_chinese(chinese):
    def select(spec):
        return runtime.Selection(spec, True, True, f"{spec}: hiding the other GPUs takes a kernel restart")

    panel = RuntimePanel(discover=two_gpus, select=select, restart=lambda: None)
    assert "更改运行时类型" in panel.title.value
    assert (panel.apply_button.description, panel.restart_button.description) == ("应用", "重启内核")
    assert "auto 现在选择 cuda:0；%train 每次运行时都会使用当时可用的最佳设备" in panel.details.value
    assert "已选择：auto" in panel.status.value
    panel.choice.value = "cuda:1"
    assert "显存" in panel.details.value and "15.0 GiB" in panel.details.value  # a GPU's memory; the unit as it is
    panel.choice.value = "cpu"
    assert "内存" in panel.details.value and "显存" not in panel.details.value  # the CPU's RAM is not GPU memory
    panel.choice.value = "cuda:1"
    panel.apply_button.click()
    assert "需要重启内核。" in panel.status.value
