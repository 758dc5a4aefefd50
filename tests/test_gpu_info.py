"""%gpu_info through a real InteractiveShell: text, HTML, JSON, --watch in one display, -o/-v/-q, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psutil
import pytest
from IPython.core.error import UsageError

from colabmagic.machine import Snapshot, snapshots
from conftest import run_ok
from test_system import (FakeClock, FakeGpu, fake_nvml, fresh_cpu_sampler, fresh_nvml, holding_a_gpu,  # noqa: F401
                         no_real_gpu)


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def test_text_on_a_machine_without_gpu(shell, capsys, tmp_path, monkeypatch):
    no_real_gpu()
    monkeypatch.chdir(tmp_path)
    assert run_ok(shell, "%gpu_info") is None
    out = capsys.readouterr().out
    assert "No NVIDIA GPU visible: " in out
    assert "Host" in out and "RAM" in out and str(tmp_path) in out
    assert f"{psutil.cpu_count()} logical" in out


def test_html_on_a_machine_without_gpu(shell, published):
    no_real_gpu()
    run_ok(shell, "%gpu_info")
    ((data, _, _),) = published
    assert "No NVIDIA GPU visible: " in data["text/html"] and "<table" in data["text/html"]
    assert data["text/plain"].startswith("gpu_info at ")


def test_json_host_numbers_match_psutil(shell, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_ok(shell, "%gpu_info --json")
    data = json.loads(capsys.readouterr().out)
    assert data["host"]["memory_total"] == psutil.virtual_memory().total
    assert data["host"]["logical_cores"] == psutil.cpu_count()
    assert data["host"]["disks"][0]["paths"][0] == str(tmp_path)
    assert data["host"]["disks"][0]["total"] == psutil.disk_usage(str(tmp_path)).total
    assert data["processes_read"] is True


def test_two_gpus_and_this_kernel_through_the_magic(shell, capsys, fake_nvml, holding_a_gpu):
    from types import SimpleNamespace

    mine = SimpleNamespace(pid=os.getpid(), usedGpuMemory=1 << 30)
    fake_nvml([FakeGpu(nvmlDeviceGetComputeRunningProcesses=[mine]), FakeGpu(nvmlDeviceGetName="Tesla T4")])
    run_ok(shell, "%gpu_info")
    out = capsys.readouterr().out
    assert "GPU 0: NVIDIA A100-SXM4-40GB" in out and "GPU 1: Tesla T4" in out
    assert "(this kernel)" in out and "No NVIDIA GPU visible" not in out


def test_no_processes_option(shell, capsys, fake_nvml):
    fake = fake_nvml([FakeGpu()])
    run_ok(shell, "%gpu_info --no-processes")
    assert "processes" not in capsys.readouterr().out
    assert "nvmlDeviceGetComputeRunningProcesses" not in fake.calls


def test_driver_not_loaded_through_the_magic(shell, capsys, fake_nvml):
    import pynvml

    fake_nvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    run_ok(shell, "%gpu_info")
    out = capsys.readouterr().out
    assert "No NVIDIA GPU visible: NVIDIA driver not loaded" in out and "RAM" in out


def test_output_and_variable_and_quiet(shell, capsys):
    run_ok(shell, "snap = %gpu_info -q -o")
    assert isinstance(shell.user_ns["snap"], Snapshot)
    assert capsys.readouterr().out == ""
    assert isinstance(run_ok(shell, "%gpu_info -q -o"), Snapshot)  # the cell's value, shown as Out
    capsys.readouterr()
    assert run_ok(shell, "%gpu_info -q -v info") is None
    assert isinstance(shell.user_ns["info"], Snapshot)
    assert capsys.readouterr().out == ""


def test_watch_updates_one_display(shell, published, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(snapshots, "CLOCK", clock)
    snap = run_ok(shell, "%gpu_info --watch 2 --count 3 -o")
    assert isinstance(snap, Snapshot)
    assert [update for _, _, update in published] == [False, True, True]
    display_ids = {display_id for _, display_id, _ in published}
    assert len(display_ids) == 1 and None not in display_ids
    assert all("text/html" in data for data, _, _ in published)
    assert clock.slept == [2.0, 2.0]


def test_watch_in_a_terminal_reprints(shell, capsys, monkeypatch):
    monkeypatch.setattr(snapshots, "CLOCK", FakeClock())
    run_ok(shell, "%gpu_info --watch 0.5 --count 2")
    assert capsys.readouterr().out.count("gpu_info at ") == 2


def test_interrupt_ends_watch_quietly(shell, published, monkeypatch):
    def interrupted(seconds):
        raise KeyboardInterrupt

    clock = FakeClock()
    clock.sleep = interrupted
    monkeypatch.setattr(snapshots, "CLOCK", clock)
    result = shell.run_cell("%gpu_info --watch 1 -v last", store_history=False)
    assert result.success
    assert len(published) == 1
    assert isinstance(shell.user_ns["last"], Snapshot)


def test_watch_json_prints_one_line_per_reading(shell, capsys, monkeypatch):
    monkeypatch.setattr(snapshots, "CLOCK", FakeClock())
    run_ok(shell, "%gpu_info --json --watch 1 --count 2")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("host" in json.loads(line) for line in lines)


@pytest.mark.parametrize("line, expected", [
    ("%gpu_info --watch -1", "--watch"),
    ("%gpu_info --watch 0", "seconds > 0"),
    ("%gpu_info --watch soon", "seconds > 0"),
    ("%gpu_info --watch 1 --count 0", "--count"),
    ("%gpu_info --watch 1 --count 1.5", "--count"),
    ("%gpu_info --count 2", "--count needs --watch"),
    ("%gpu_info --bogus", "unrecognized arguments"),
    ("%gpu_info extra", "unrecognized arguments"),
])
def test_bad_arguments_are_one_usage_error(shell, line, expected):
    assert expected in usage_error(shell, line)


def test_load_ext_does_not_import_the_readings():
    code = ("import sys\n"
            "from IPython.core.interactiveshell import InteractiveShell\n"
            "InteractiveShell.instance().run_cell('%load_ext colabmagic')\n"
            "print([m for m in ('colabmagic.machine', 'psutil', 'pynvml') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_output_as_the_last_line_shows_the_table_once(shell, capsys):
    result = shell.run_cell("%gpu_info -o --no-processes", store_history=True)
    assert result.success and isinstance(result.result, Snapshot)
    assert capsys.readouterr().out.count("gpu_info at ") == 1
    shell.run_cell("_", store_history=True)  # shown again when asked for, in a later cell
    assert capsys.readouterr().out.count("gpu_info at ") == 1


def test_output_in_a_notebook_publishes_one_table(shell, published):
    shell.run_cell("%gpu_info -o --no-processes", store_history=True)
    assert len(published) == 1 and "text/html" in published[0][0]


def test_cpu_use_is_a_percentage_from_the_first_reading(shell, capsys, fresh_cpu_sampler):
    run_ok(shell, "%gpu_info --no-processes")
    out = capsys.readouterr().out.splitlines()
    (cpu_use,) = [line for line in out if line.startswith("  CPU use ")]
    assert f"% of {psutil.cpu_count()} cores" in cpu_use and "[" in cpu_use  # a share, with a bar
    if hasattr(os, "getloadavg"):
        assert "load" not in cpu_use
        (load,) = [line for line in out if line.startswith("  load average ")]
        assert load.endswith("(1, 5, 15 min)")


def test_watch_readings_all_have_cpu_use(shell, capsys, monkeypatch, fresh_cpu_sampler):
    monkeypatch.setattr(snapshots, "CLOCK", FakeClock())  # no waiting between readings
    run_ok(shell, "%gpu_info --json --watch 0.5 --count 3 --no-processes")
    readings = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [r["host"]["cpu_percent"] is not None for r in readings] == [True, True, True]
