"""Drive, session, machine and runtime messages in Chinese (COLABMAGIC_LANG=zh_CN), through real calls:
a UsageError from a magic, a mount's summary, the session's warnings, the %gpu_info and %resources
tables, %runtime. Numbers, units, paths and option names stay as they are; English comes back as
soon as the language does. Needs the compiled catalogue (`make catalogue`).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from IPython.core.error import UsageError

from colabmagic import locale, runtime
from colabmagic.drive import Mount, Unmounted
from colabmagic.errors import ConfigError, DeviceError
from colabmagic.machine import snapshot
from colabmagic.machine.monitor import render_text as resources_text
from colabmagic.machine.table import columns
from colabmagic.runtime import RuntimeState
from colabmagic.session import Session
from conftest import run_ok
from test_system import FakeGpu, fake_nvml, fresh_nvml, holding_a_gpu  # noqa: F401 (fixtures)


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.setenv("COLABMAGIC_LANG", "zh_CN")
    assert locale.language() == "zh_CN", "no zh_CN catalogue: run `make catalogue`"


@pytest.fixture
def kernel(monkeypatch):
    """A process that has chosen no device, CUDA not started, outside a Jupyter kernel."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    before = runtime.install(RuntimeState(visible_at_start=None, cuda_user=lambda: None, kernel_id=lambda: None))
    yield
    runtime.install(before)
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    os.environ.pop(runtime.DEVICE_ENV, None)


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


# --- drive ---------------------------------------------------------------------------------------

def test_mount_drive_errors_are_chinese_usage_errors_with_their_options(shell, chinese):
    said = usage_error(shell, "%mount_drive /tmp/nowhere-colabmagic --interval 1")
    assert said == "--interval 必须是 5 到 604800 之间的秒数，而不是 1.0"
    assert usage_error(shell, "%unmount_drive") == "本内核没有挂载任何东西"


def test_a_mount_and_an_unmount_say_what_they_did_in_chinese(chinese):
    mirror = Mount(Path("/content/drive"), Path("/content/drive/MyDrive"), "gdrive:", "mirror", interval=60,
                   why="auto：缺少 /dev/fuse", seconds=2.5)
    assert mirror.summary() == ("已将 gdrive: 挂载到 /content/drive/MyDrive（模式 mirror：本地镜像，"
                                "修改每 60 s 推送一次，%unmount_drive 时也会推送；auto：缺少 /dev/fuse），"
                                "用时 2.5 s")
    assert "--force-remount" in Mount(Path("/d"), Path("/d/MyDrive"), "gdrive:", "mount", already=True).summary()
    flushed = Unmounted(Path("/content/drive"), "mount", 3, 1.5)
    assert str(flushed) == "已卸载 /content/drive（上传了 3 个待上传的文件，用时 1.5 s）"
    assert str(Unmounted(Path("/content/drive"), "mount", 0, 0.5)) == "已卸载 /content/drive（用时 0.5 s）"


# --- session -------------------------------------------------------------------------------------

def test_the_session_warns_and_expires_in_chinese(chinese):
    notices = []
    now = [0.0]
    session = Session(limit=7200, clock=lambda: now[0], started_at=0.0, notify=notices.append, persist=False)
    session.add_expiry_hook(lambda: 2)
    assert str(session) == "会话：剩余 2:00:00（共 2h）；已运行 0s，空闲 0s；到期时：warn"
    now[0] = 7200 - 25 * 60
    session.check()
    assert notices == ["会话：剩余 25m（时限 2h，到期时：warn）。请保存你的工作，或延长会话："
                       "%session --extend 1h"]
    now[0] = 7200
    session.check()
    assert notices[-1] == ("会话已达到 2h 的时限。已通知 2 个正在运行的任务停止并保存检查点。"
                           "内核继续运行：可用 %session --extend 1h 延长，或重启内核以释放 GPU。")
    assert session.countdown().note == "已到期：已达到 2h 的时限"
    with pytest.raises(ConfigError) as refused:
        session.apply({"on_expire": "explode"})
    assert str(refused.value) == "未知的到期动作 'explode'：请使用 warn 或 shutdown"


# --- machine: %gpu_info and %resources -------------------------------------------------------------

def test_gpu_info_table_in_chinese_keeps_numbers_and_units(shell, capsys, chinese, fake_nvml, holding_a_gpu):
    mine = SimpleNamespace(pid=os.getpid(), usedGpuMemory=1 << 30)
    fake_nvml([FakeGpu(nvmlDeviceGetComputeRunningProcesses=[mine])])
    run_ok(shell, "%gpu_info")
    out = capsys.readouterr().out
    assert out.startswith("gpu_info（") and "GPU 0: NVIDIA A100-SXM4-40GB" in out
    for words in ("  驱动 ", "计算能力 ", "  显存 ", "  利用率 ", "  温度 ", "  功耗 ", "  内存 ",
                  "\n主机\n", "  CPU 使用率 ", "（本内核）", "1.0 GiB"):
        assert words in out, words
    assert " °C" in out and " W" in out and " MHz" in out and "%" in out
    # the process table's columns line up in terminal columns (a Chinese character takes two)
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "PID" in line)
    row = lines[header + 1]
    pid = str(os.getpid())
    assert columns(lines[header][:lines[header].index("PID") + 3]) == columns(row[:row.index(pid) + len(pid)])
    html = snapshot()._repr_html_()
    assert "显存" in html and "读取于 " in html


def test_the_reason_for_no_gpu_follows_the_language_of_the_moment(chinese, fake_nvml, monkeypatch):
    import pynvml

    fake_nvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    text = resources_text(snapshot(processes=False))
    assert "看不到 NVIDIA GPU：NVIDIA 驱动未加载（内核模块是否已安装并加载？）" in text
    first = text.splitlines()[0]
    assert first.startswith("内存") and columns(first[:first.index("[")]) == 11  # the label pads to 10 columns
    monkeypatch.setenv("COLABMAGIC_LANG", "en")  # NVML's failure is remembered, its words are not
    assert "No NVIDIA GPU visible: NVIDIA driver not loaded" in resources_text(snapshot(processes=False))


# --- runtime -------------------------------------------------------------------------------------

def test_runtime_choices_and_refusals_in_chinese(shell, chinese, kernel, fake_nvml):
    import pynvml

    assert usage_error(shell, "%runtime tpu") == "未知设备 'tpu'：请使用 auto、cpu、cuda、cuda:N、gpu:0,1 或 mps"
    assert str(runtime.select("cpu")) == "cpu：未指定 --device 时，%train 使用 CPU"
    fake_nvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(DeviceError) as refused:
        runtime.select("cuda:1")
    assert str(refused.value) == ("设备 cuda:1 不可用：本机没有 NVIDIA GPU（NVIDIA 驱动未加载"
                                  "（内核模块是否已安装并加载？））；请使用 cpu 或 auto")


def test_a_missing_gpu_number_counts_the_devices_in_chinese(chinese, kernel, fake_nvml):
    fake_nvml([FakeGpu(), FakeGpu(nvmlDeviceGetName="Tesla T4", nvmlDeviceGetUUID="GPU-t4")])
    with pytest.raises(DeviceError) as refused:
        runtime.select("cuda:5")
    assert str(refused.value) == "设备 cuda:5 不存在：本机有 2 个 CUDA 设备（cuda:0, cuda:1）"
    listed = str(runtime.discover())
    assert listed.startswith("运行时：已选择 auto") and "，计算能力 " in listed and "GiB" in listed
