"""colabmagic.machine: host readings against psutil, NVML paths through a fake at pynvml's functions.

The fake replaces nvidia-ml-py's own functions (nvmlInit, nvmlDeviceGetName, ...), so everything
between them and the user, our error mapping, caching and rendering, runs for real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from types import SimpleNamespace

import psutil
import pynvml
import pytest

from colabmagic.errors import ConfigError
from colabmagic.machine import Snapshot, accelerators, cpu, gpu_processes, nvml
from colabmagic.machine.cpu import CpuSampler, CpuTimes
from colabmagic.machine.gpus import read_gpus
from colabmagic.machine.snapshots import snapshot, watch
from gpu import nvidia_smi_gpus

GiB = 2**30
MiB = 2**20
GONE_PID = 4_000_000  # above Linux's pid_max ceiling (2**22): never a live process

# every value a fake GPU reports, by the pynvml function that reports it
FULL_GPU = {
    "nvmlDeviceGetName": "NVIDIA A100-SXM4-40GB",
    "nvmlDeviceGetUUID": "GPU-0000aaaa-1111-2222-3333-444455556666",
    "nvmlDeviceGetCudaComputeCapability": (8, 0),
    "nvmlDeviceGetMemoryInfo": SimpleNamespace(used=3 * GiB, total=40 * GiB, free=37 * GiB),
    "nvmlDeviceGetUtilizationRates": SimpleNamespace(gpu=87, memory=41),
    "nvmlDeviceGetTemperature": 61,
    "nvmlDeviceGetTemperatureV": 61,
    "nvmlDeviceGetPowerUsage": 251_500,  # milliwatts
    "nvmlDeviceGetEnforcedPowerLimit": 400_000,
    "nvmlDeviceGetClockInfo": 1410,
    "nvmlDeviceGetCurrPcieLinkGeneration": 4,
    "nvmlDeviceGetCurrPcieLinkWidth": 16,
    "nvmlDeviceGetPersistenceMode": 1,
    "nvmlDeviceGetMigMode": [0, 0],
    "nvmlDeviceGetComputeRunningProcesses": [],
    "nvmlDeviceGetGraphicsRunningProcesses": [],
    "nvmlDeviceGetMaxMigDeviceCount": 0,
}


class FakeGpu:
    def __init__(self, unsupported=(), errors=None, mig_slots=None, **values):
        self.values = {**FULL_GPU, **values}
        self.unsupported = set(unsupported)  # function names answering NotSupported
        self.errors = errors or {}  # function name -> other NVML error code
        self.mig_slots = mig_slots or {}  # slot -> FakeGpu of that MIG device


class FakeNvml:
    """nvidia-ml-py's functions over FakeGpu objects; counts every call by function name."""

    def __init__(self, monkeypatch, gpus, *, init_error=None, driver="550.54.15", cuda=12040):
        self.gpus, self.init_error, self.calls = gpus, init_error, {}
        self.process_names = {}
        own = {
            "nvmlInit": self.init,
            "nvmlShutdown": lambda: None,
            "nvmlSystemGetDriverVersion": lambda: driver,
            "nvmlSystemGetCudaDriverVersion": lambda: cuda,
            "nvmlSystemGetProcessName": self.process_name,
            "nvmlDeviceGetCount": lambda: len(self.gpus),
            "nvmlDeviceGetHandleByIndex": lambda i: self.gpus[i],
            "nvmlDeviceGetMigDeviceHandleByIndex": self.mig_handle,
        }
        for name, fn in own.items():
            monkeypatch.setattr(pynvml, name, self.counted(name, fn))
        for name in FULL_GPU:
            monkeypatch.setattr(pynvml, name, self.counted(name, self.getter(name)))

    def counted(self, name, fn):
        def call(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            return fn(*args, **kwargs)
        return call

    @staticmethod
    def getter(name):
        def get(handle, *args, **kwargs):
            if name in handle.unsupported:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
            if name in handle.errors:
                raise pynvml.NVMLError(handle.errors[name])
            return handle.values[name]
        return get

    def init(self):
        if self.init_error is not None:
            raise pynvml.NVMLError(self.init_error)

    def process_name(self, pid):
        if pid not in self.process_names:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return self.process_names[pid]

    @staticmethod
    def mig_handle(handle, slot):
        if slot not in handle.mig_slots:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)
        return handle.mig_slots[slot]


@pytest.fixture(autouse=True)
def fresh_nvml():
    """Each test starts NVML from scratch (the module keeps it started for the process)."""
    nvml.shutdown()
    yield
    nvml.shutdown()


@pytest.fixture
def fake_nvml(monkeypatch):
    def make(gpus=(), **kwargs):
        return FakeNvml(monkeypatch, list(gpus), **kwargs)
    return make


@pytest.fixture
def fresh_cpu_sampler():
    """This process's CPU sampler without earlier readings, as in a new kernel."""
    cpu.SAMPLER.reset()
    yield cpu.SAMPLER
    cpu.SAMPLER.reset()


def no_real_gpu():
    gpus, _ = read_gpus(processes=False)
    nvml.shutdown()
    if gpus:
        pytest.skip("this machine has an NVIDIA GPU; the no-GPU path is covered with the fake")


# ---------------------------------------------------------------- the machine itself


def test_host_numbers_match_psutil(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    host = snapshot().host
    memory = psutil.virtual_memory()
    assert host.memory_total == memory.total
    assert abs(host.memory_available - memory.available) < 256 * MiB
    assert host.memory_used == host.memory_total - host.memory_available
    assert host.swap_total == psutil.swap_memory().total
    assert host.logical_cores == psutil.cpu_count() and host.physical_cores == psutil.cpu_count(logical=False)
    assert host.cpu_model and host.cpu_model != "unknown CPU"
    disk = psutil.disk_usage(str(tmp_path))
    first = host.disks[0]
    assert first.paths[0] == str(tmp_path)
    assert first.total == disk.total and abs(first.used - disk.used) < GiB
    if hasattr(os, "getloadavg"):
        assert len(host.load_average) == 3


def test_no_gpu_on_this_machine_is_one_clear_reason():
    no_real_gpu()
    snap = snapshot()
    assert snap.gpus == [] and snap.gpu_problem
    assert str(snap).splitlines()[1] == f"No NVIDIA GPU visible: {snap.gpu_problem}"
    assert "Host" in str(snap) and "RAM" in str(snap)


def test_disks_on_one_filesystem_are_one_line(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    disks = snapshot().host.disks
    assert len(disks) == 1 and disks[0].paths == [str(tmp_path), str(home)]
    assert disks[0].label == f"{tmp_path}, {home}"


def test_disks_on_two_filesystems_are_two_lines(tmp_path, monkeypatch):
    other = "/dev/shm"
    if not os.path.isdir(other) or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs a second filesystem at /dev/shm")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", other)
    disks = snapshot().host.disks
    assert [d.paths for d in disks] == [[str(tmp_path)], [other]]
    assert disks[1].total == psutil.disk_usage(other).total


def test_the_first_reading_has_cpu_use(fresh_cpu_sampler):
    first = snapshot(processes=False).host.cpu_percent
    assert first is not None and 0.0 <= first <= 100.0
    assert snapshot(processes=False, cpu_sample=0).host.cpu_percent is not None  # the window is kept


def test_cpu_use_never_reads_a_tick_or_two_as_100_percent(fresh_cpu_sampler):
    """Two readings ms apart used to compare one clock tick: 0 % or 100 % of an idle machine."""
    assert snapshot(processes=False, cpu_sample=0).host.cpu_percent is None  # nothing to compare yet
    readings = [snapshot(processes=False, cpu_sample=0).host.cpu_percent for _ in range(20)]
    assert readings == [None] * 20  # no window of CPU_WINDOW_MIN yet: unknown, not 0 % or 100 %
    assert fresh_cpu_sampler.kept <= 2  # rapid calls keep a bounded list


def test_cpu_use_is_measured_over_a_window_and_matches_the_busy_share():
    # 2 cores, 1 s of wall clock, 1.5 s busy -> 75 %
    now = [100.0]
    times = [CpuTimes(busy=10.0, total=20.0)]
    sampler = CpuSampler(read=lambda: times[0], clock=lambda: now[0])
    assert snapshot(processes=False, cpu_sample=0, sampler=sampler).host.cpu_percent is None
    now[0] += 1.0
    times[0] = CpuTimes(busy=11.5, total=22.0)
    assert snapshot(processes=False, cpu_sample=0, sampler=sampler).host.cpu_percent == 75.0
    now[0] += 0.01  # a reading right after: still the last window's share, not a tick's
    times[0] = CpuTimes(busy=11.51, total=22.01)
    assert sampler.percent(0) == 75.1
    now[0] += 60  # long after: the old window is dropped rather than averaged over a minute
    assert sampler.percent(0) is None


def test_a_first_reading_waits_for_its_window_on_the_samplers_clock():
    now, slept = [50.0], []
    times = [CpuTimes(busy=0.0, total=0.0)]

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
        times[0] = CpuTimes(busy=0.05, total=0.2)  # a quarter of 2 cores over 0.1 s

    sampler = CpuSampler(read=lambda: times[0], clock=lambda: now[0], sleep=sleep)
    assert sampler.percent(0.1) == 25.0 and slept == [0.1]
    assert sampler.percent(0) == 25.0 and slept == [0.1]  # right after: that window's answer, no wait


def test_cpu_times_are_psutils_without_guest_time():
    """The one reading both the CPU-use share and %train's free-core count are built on."""
    whole = psutil.cpu_times()
    times = cpu.cpu_times()
    guest = getattr(whole, "guest", 0.0) + getattr(whole, "guest_nice", 0.0)
    assert times.total == pytest.approx(sum(whole) - guest, abs=5.0)
    assert 0 <= times.busy <= times.total
    first = sorted(os.sched_getaffinity(0))[:1] if hasattr(os, "sched_getaffinity") else [0]
    one = cpu.cpu_times(first)
    assert one is not None and one.total <= times.total + 1.0
    assert cpu.busy_seconds(first) == pytest.approx(one.busy, abs=1.0)
    assert cpu.cpu_times([10_000]) is None  # no such CPU


def test_import_and_snapshot_never_import_torch():
    code = ("import sys, colabmagic.machine as s\n"
            "before = [m for m in ('psutil', 'pynvml', 'IPython') if m in sys.modules]\n"
            "s.snapshot()\n"
            "print(before, 'torch' in sys.modules, 'IPython' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] False False"


def test_torch_accelerators_only_when_torch_is_already_imported(monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert snapshot().accelerators == []
    torch = types.ModuleType("torch")
    torch.backends = SimpleNamespace(mps=SimpleNamespace(is_available=lambda: True))
    torch.xpu = SimpleNamespace(is_available=lambda: True, device_count=lambda: 2)
    monkeypatch.setitem(sys.modules, "torch", torch)
    snap = snapshot()
    assert [(a.backend, a.index) for a in snap.accelerators] == [("mps", 0), ("xpu", 0), ("xpu", 1)]
    assert "torch accelerators" in str(snap) and "mps:0" in str(snap)
    assert accelerators.accelerators() is snap.accelerators  # asked once per torch module
    other = types.ModuleType("torch")  # another torch (a test's stand-in): asked again
    monkeypatch.setitem(sys.modules, "torch", other)
    assert accelerators.accelerators() == []


# ---------------------------------------------------------------- NVML through the fake


def test_two_gpus_every_field(fake_nvml):
    other = FakeGpu(nvmlDeviceGetName="Tesla T4", nvmlDeviceGetUUID="GPU-t4",
                    nvmlDeviceGetCudaComputeCapability=(7, 5), nvmlDeviceGetPersistenceMode=0,
                    nvmlDeviceGetMemoryInfo=SimpleNamespace(used=0, total=15 * GiB, free=15 * GiB))
    fake_nvml([FakeGpu(), other])
    snap = snapshot()
    assert snap.gpu_problem is None
    a100, t4 = snap.gpus
    assert (a100.index, a100.name, t4.index, t4.name) == (0, "NVIDIA A100-SXM4-40GB", 1, "Tesla T4")
    assert a100.uuid == FULL_GPU["nvmlDeviceGetUUID"]
    assert (a100.driver_version, a100.cuda_driver_version) == ("550.54.15", "12.4")
    assert (a100.compute_capability, t4.compute_capability) == ("8.0", "7.5")
    assert (a100.memory_used, a100.memory_total) == (3 * GiB, 40 * GiB)
    assert (a100.gpu_utilization, a100.memory_utilization, a100.temperature) == (87, 41, 61)
    assert (a100.power_draw, a100.power_limit) == (251.5, 400.0)
    assert (a100.sm_clock, a100.pcie_generation, a100.pcie_width) == (1410, 4, 16)
    assert (a100.persistence_mode, t4.persistence_mode, a100.mig_mode) == (True, False, False)
    text = str(snap)
    assert "No NVIDIA GPU visible" not in text
    for expected in ("GPU 0: NVIDIA A100-SXM4-40GB", "GPU 1: Tesla T4", "3.0 GiB / 40.0 GiB (8%)",
                     "GPU 87%, memory 41%", "61 °C", "252 / 400 W", "1410 MHz", "gen 4 x16",
                     "550.54.15, CUDA 12.4, compute capability 8.0", "Host"):
        assert expected in text
    assert text.index("GPU 0:") < text.index("GPU 1:") < text.index("Host")


def test_not_supported_fields_are_none_and_show_na(fake_nvml):
    fake_nvml([FakeGpu(unsupported={"nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage",
                                    "nvmlDeviceGetEnforcedPowerLimit", "nvmlDeviceGetUtilizationRates",
                                    "nvmlDeviceGetCurrPcieLinkGeneration", "nvmlDeviceGetPersistenceMode"})])
    snap = snapshot()
    gpu = snap.gpus[0]
    assert gpu.temperature is None and gpu.power_draw is None and gpu.power_limit is None
    assert gpu.gpu_utilization is None and gpu.pcie_generation is None and gpu.persistence_mode is None
    assert gpu.pcie_width == 16 and gpu.memory_total == 40 * GiB  # the rest still read
    lines = {line.split()[0]: line for line in str(snap).splitlines() if line.startswith("  ")}
    assert lines["temperature"].split()[-1] == "N/A"
    assert lines["power"].endswith("N/A / N/A W")
    assert lines["utilisation"].endswith("GPU N/A, memory N/A")
    assert lines["persistence"].split()[-1] == "N/A"
    assert "N/A" in snap._repr_html_()
    assert json.loads(json.dumps(snap.to_dict()))["gpus"][0]["temperature"] is None


def test_any_nvml_error_on_a_field_leaves_only_that_field_empty(fake_nvml):
    fake_nvml([FakeGpu(errors={"nvmlDeviceGetClockInfo": pynvml.NVML_ERROR_GPU_IS_LOST,
                               "nvmlDeviceGetUUID": pynvml.NVML_ERROR_UNKNOWN})])
    gpu = snapshot().gpus[0]
    assert gpu.sm_clock is None and gpu.uuid is None and gpu.temperature == 61


def test_temperature_uses_the_versioned_call_once_the_old_one_is_gone(fake_nvml):
    fake_nvml([FakeGpu(nvmlDeviceGetTemperatureV=55,
                       errors={"nvmlDeviceGetTemperature": pynvml.NVML_ERROR_FUNCTION_NOT_FOUND})])
    assert snapshot().gpus[0].temperature == 55


def test_memory_falls_back_to_v1_on_old_drivers(fake_nvml, monkeypatch):
    fake = fake_nvml([FakeGpu()])

    def memory(handle, version=None):
        if version is not None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_FUNCTION_NOT_FOUND)
        return SimpleNamespace(used=5 * GiB, total=40 * GiB)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetMemoryInfo", fake.counted("mem", memory))
    assert snapshot().gpus[0].memory_used == 5 * GiB and fake.calls["mem"] == 2


@pytest.mark.parametrize("code, reason", [
    (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "NVML library not found"),
    (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "NVIDIA driver not loaded"),
    (pynvml.NVML_ERROR_NO_PERMISSION, "no permission to talk to the NVIDIA driver"),
    (pynvml.NVML_ERROR_LIB_RM_VERSION_MISMATCH, "NVML library and kernel driver versions differ"),
    (pynvml.NVML_ERROR_OPERATING_SYSTEM, "NVML failed to start: "),
])
def test_nvml_start_failures_are_one_clear_line_and_host_still_shows(fake_nvml, code, reason):
    fake_nvml([FakeGpu()], init_error=code)
    snap = snapshot()
    assert snap.gpus == [] and snap.gpu_problem.startswith(reason)
    text = str(snap)
    assert f"No NVIDIA GPU visible: {reason}" in text
    assert "Host" in text and "RAM" in text
    assert f"No NVIDIA GPU visible: {reason}" in snap._repr_html_()
    assert snap.to_colab_resources()["gpus"] == []


def test_listing_failures_and_zero_gpus(fake_nvml, monkeypatch):
    fake_nvml([])
    assert snapshot().gpu_problem == "the NVIDIA driver is loaded but reports no GPU"
    nvml.shutdown()

    def lost(index):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_PERMISSION)

    fake_nvml([FakeGpu()])
    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lost)
    assert snapshot().gpu_problem.startswith("no permission")


def test_missing_nvidia_ml_py_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    assert snapshot().gpu_problem == "nvidia-ml-py is not installed (pip install nvidia-ml-py)"


def test_nvml_starts_once_lazily_and_static_fields_are_cached(fake_nvml):
    fake = fake_nvml([FakeGpu(), FakeGpu()])
    assert fake.calls == {}  # nothing before the first reading
    for _ in range(3):
        snapshot()
    assert fake.calls["nvmlInit"] == 1
    assert fake.calls["nvmlDeviceGetName"] == 2 and fake.calls["nvmlDeviceGetUUID"] == 2
    assert fake.calls["nvmlDeviceGetTemperature"] == 6  # live fields: every reading
    nvml.shutdown()
    snapshot()
    assert fake.calls["nvmlInit"] == 2


def test_a_failed_start_is_not_retried_every_reading(fake_nvml):
    fake = fake_nvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    for _ in range(3):
        snapshot()
    assert fake.calls["nvmlInit"] == 1


def test_mig_enabled_lists_its_slices(fake_nvml):
    slices = {
        0: FakeGpu(nvmlDeviceGetName="NVIDIA A100-SXM4-40GB MIG 3g.20gb", nvmlDeviceGetUUID="MIG-aaa",
                   nvmlDeviceGetMemoryInfo=SimpleNamespace(used=1 * GiB, total=20 * GiB)),
        3: FakeGpu(nvmlDeviceGetName="NVIDIA A100-SXM4-40GB MIG 2g.10gb", nvmlDeviceGetUUID="MIG-bbb",
                   nvmlDeviceGetMemoryInfo=SimpleNamespace(used=0, total=10 * GiB)),
    }
    # under MIG the parent GPU does not report utilisation
    fake_nvml([FakeGpu(nvmlDeviceGetMigMode=[1, 1], nvmlDeviceGetMaxMigDeviceCount=7, mig_slots=slices,
                       unsupported={"nvmlDeviceGetUtilizationRates"})])
    snap = snapshot()
    gpu = snap.gpus[0]
    assert gpu.mig_mode is True and gpu.gpu_utilization is None
    assert [(m.index, m.uuid, m.memory_total) for m in gpu.mig_devices] == [(0, "MIG-aaa", 20 * GiB),
                                                                             (3, "MIG-bbb", 10 * GiB)]
    text = str(snap)
    assert "  MIG          on" in text
    assert "MIG 0" in text and "MIG 3g.20gb: 1.0 GiB / 20.0 GiB (5%)" in text
    assert "MIG 2g.10gb" in snap._repr_html_()


@pytest.fixture
def holding_a_gpu(tmp_path, monkeypatch):
    """This process holds a (stand-in) NVIDIA device file open, as a process using a GPU does."""
    monkeypatch.setattr(gpu_processes, "GPU_DEVICE_PREFIX", str(tmp_path / "nvidia"))
    with open(tmp_path / "nvidia0", "w"):
        yield


def test_processes_with_this_kernel_marked(fake_nvml, holding_a_gpu):
    me, parent = os.getpid(), os.getppid()
    gpu = FakeGpu(
        nvmlDeviceGetComputeRunningProcesses=[
            SimpleNamespace(pid=parent, usedGpuMemory=512 * MiB),
            SimpleNamespace(pid=me, usedGpuMemory=2 * GiB),
            SimpleNamespace(pid=GONE_PID, usedGpuMemory=None),
        ],
        nvmlDeviceGetGraphicsRunningProcesses=[SimpleNamespace(pid=parent, usedGpuMemory=512 * MiB)],
    )
    fake = fake_nvml([gpu])
    ghost_command = "/usr/bin/ghost --flag " + "x" * 200
    fake.process_names[GONE_PID] = ghost_command
    snap = snapshot()
    procs = snap.gpus[0].processes
    assert [p.pid for p in procs] == [me, parent, GONE_PID]  # most GPU memory first
    mine, theirs, ghost = procs
    assert mine.this_kernel and not theirs.this_kernel and not ghost.this_kernel
    assert mine.user == psutil.Process().username()
    assert mine.command == " ".join(psutil.Process().cmdline())
    assert theirs.kind == "compute+graphics" and mine.kind == "compute"
    assert (ghost.user, ghost.command, ghost.gpu_memory) == (None, ghost_command, None)
    text = str(snap)
    (ghost_line,) = [row for row in text.splitlines() if "/usr/bin/ghost" in row]
    assert ghost_line.endswith("x...") and len(ghost_line) < 140  # long command lines are cut on screen
    assert "PID" in text and "GPU MEMORY" in text
    (line,) = [row for row in text.splitlines() if "(this kernel)" in row]
    assert line.split()[0] == str(me) and "2.0 GiB" in line
    html = snap._repr_html_()
    assert "(this kernel)" in html and html.count("<table") == 2


def test_process_lists_can_be_skipped_or_unreadable(fake_nvml):
    fake = fake_nvml([FakeGpu(unsupported={"nvmlDeviceGetComputeRunningProcesses",
                                           "nvmlDeviceGetGraphicsRunningProcesses"})])
    quick = snapshot(processes=False)
    assert quick.gpus[0].processes is None and "processes" not in str(quick)
    assert "nvmlDeviceGetComputeRunningProcesses" not in fake.calls
    full = snapshot()
    line = [row for row in str(full).splitlines() if "processes" in row][0]
    assert line.split() == ["processes", "N/A"]


def test_to_colab_resources_has_colabs_shape_and_units(fake_nvml):
    fake_nvml([FakeGpu(), FakeGpu(nvmlDeviceGetUtilizationRates=SimpleNamespace(gpu=0, memory=0),
                                  unsupported={"nvmlDeviceGetMemoryInfo"})])
    snap = snapshot()
    res = json.loads(json.dumps(snap.to_colab_resources()))
    assert set(res) == {"memory", "disks", "gpus"}
    assert res["memory"] == {"totalBytes": snap.host.memory_total, "freeBytes": snap.host.memory_available}
    assert res["disks"] and all(set(d) == {"filesystem"} for d in res["disks"])
    assert set(res["disks"][0]["filesystem"]) == {"label", "totalBytes", "usedBytes"}
    assert res["disks"][0]["filesystem"]["totalBytes"] == snap.host.disks[0].total
    first, second = res["gpus"]
    assert set(first) == {"name", "memoryUsedBytes", "memoryTotalBytes", "gpuUtilization",
                          "memoryUtilization", "everUsed"}
    assert first == {"name": "NVIDIA A100-SXM4-40GB", "memoryUsedBytes": 3 * GiB,
                     "memoryTotalBytes": 40 * GiB, "gpuUtilization": 0.87, "memoryUtilization": 0.41,
                     "everUsed": True}
    # unknown numbers are 0, as Colab's frontend expects numbers
    assert (second["memoryUsedBytes"], second["memoryTotalBytes"], second["everUsed"]) == (0, 0, False)


def test_to_dict_is_json_with_every_field(fake_nvml):
    fake_nvml([FakeGpu()])
    data = json.loads(json.dumps(snapshot().to_dict()))
    assert set(data) == {"taken_at", "gpus", "gpu_problem", "host", "accelerators", "processes_read"}
    assert data["gpus"][0]["memory_total"] == 40 * GiB
    assert data["host"]["disks"][0]["paths"]


def test_html_is_self_contained_and_escaped(fake_nvml):
    fake_nvml([FakeGpu(nvmlDeviceGetName="<b>Evil</b> & GPU",
                       nvmlDeviceGetMemoryInfo=SimpleNamespace(used=39 * GiB, total=40 * GiB))])
    html = snapshot()._repr_html_()
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; GPU" in html and "<b>Evil" not in html
    assert "<style" not in html and "<script" not in html  # inline styles only
    assert "color:inherit" in html  # follows light and dark themes
    assert "width:97.5%" in html and "#e53935" in html  # a nearly full GPU draws a red bar


class FakeClock:
    """Stands in for the time module as watch's clock: sleeping moves the clock."""

    def __init__(self, reading_cost=0.0):
        self.now, self.slept, self.reading_cost = 1000.0, [], reading_cost

    def monotonic(self):
        self.now += self.reading_cost  # each look at the clock stands for some work done
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def time(self):
        return self.now

    def __getattr__(self, name):  # strftime, localtime...: the real ones
        import time

        return getattr(time, name)


def test_watch_yields_count_readings_at_the_interval(monkeypatch):
    clock = FakeClock()
    readings = list(watch(0.5, count=3, processes=False, clock=clock))
    assert len(readings) == 3 and all(isinstance(r, Snapshot) for r in readings)
    assert clock.slept == [0.5, 0.5]


def test_watch_keeps_its_cadence_and_never_queues_readings(monkeypatch):
    clock = FakeClock(reading_cost=0.1)  # the display between readings takes time
    list(watch(0.5, count=3, processes=False, clock=clock))
    assert all(s < 0.5 for s in clock.slept)  # the time spent counts toward the interval
    clock = FakeClock(reading_cost=2.0)  # slower than the interval: no sleeping, no backlog
    list(watch(0.5, count=3, processes=False, clock=clock))
    assert clock.slept == [0.0, 0.0]


@pytest.mark.parametrize("seconds, count", [(0, None), (-1, 2), (1, 0)])
def test_watch_rejects_bad_values_at_once(seconds, count):
    with pytest.raises(ConfigError):
        watch(seconds, count)


@pytest.mark.gpu
def test_real_nvml_matches_nvidia_smi():
    expected = nvidia_smi_gpus()
    snap = snapshot()
    assert snap.gpu_problem is None
    assert [g.name for g in snap.gpus] == [name for name, _ in expected]
    assert [g.memory_total // MiB for g in snap.gpus] == [int(total) for _, total in expected]
    for gpu in snap.gpus:
        assert gpu.uuid.startswith("GPU-") and gpu.driver_version and gpu.compute_capability
        assert 0 <= gpu.memory_used <= gpu.memory_total
        assert gpu.processes is not None


def test_drivers_without_the_v3_process_calls_fall_back_to_v2(fake_nvml, monkeypatch):
    """Before ~R510 the driver lacks nvmlDeviceGet*RunningProcesses_v3, which nvidia-ml-py calls by
    default: it raises NVMLLibraryMismatchError (not an NVMLError) and the whole reading failed."""
    me = os.getpid()
    fake_nvml([FakeGpu()])

    def mismatch(handle):
        raise pynvml.NVMLLibraryMismatchError("Unversioned function called ...")

    monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses", mismatch)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetGraphicsRunningProcesses", mismatch)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses_v2",
                        lambda handle: [SimpleNamespace(pid=me, usedGpuMemory=GiB)])
    monkeypatch.setattr(pynvml, "nvmlDeviceGetGraphicsRunningProcesses_v2", mismatch)  # and a v2 missing too
    snap = snapshot()
    assert [(p.pid, p.kind) for p in snap.gpus[0].processes] == [(me, "compute")]
    assert snap.gpus[0].name == FULL_GPU["nvmlDeviceGetName"]


def test_a_pid_nvml_gives_is_described_only_if_that_local_process_uses_a_gpu(fake_nvml):
    """In a container NVML's pids can be the host's, under MPS the MPS server's: the local process of
    that number (here this very process, which holds no GPU) is neither 'this kernel' nor described;
    NVML's own name for the pid is shown instead."""
    me = os.getpid()
    fake = fake_nvml([FakeGpu(nvmlDeviceGetComputeRunningProcesses=[SimpleNamespace(pid=me, usedGpuMemory=GiB)])])
    fake.process_names[me] = "/opt/host/bin/trainer"
    (process,) = snapshot().gpus[0].processes
    assert not process.this_kernel and process.user is None and process.command == "/opt/host/bin/trainer"
