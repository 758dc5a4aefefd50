"""colabmagic.runtime: the one device-spec parser, device discovery through NVML (faked where no
GPU exists), selection and GPU hiding, Colab's notebook metadata, the choice kept across a restart,
and %runtime through a real shell. Each test runs in a RuntimeState of its own (`kernel`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import psutil
import pytest
from IPython.core.error import UsageError

from colabmagic import runtime
from colabmagic.errors import ConfigError, DeviceError
from colabmagic.files import NewerRecord, read_record
from colabmagic.runtime import DeviceSpec, RuntimeState, parse_spec
from colabmagic.runtime.cuda import cuda_user, driver_loaded, same_gpu
from colabmagic.runtime.restart import CHOICE_KIND, CHOICE_VERSION, RestartChoice, read_choice
from conftest import run_ok
from gpu import nvidia_smi_gpus
from test_system import FakeGpu, fake_nvml, fresh_nvml  # noqa: F401 (fixtures)

GiB = 2**30
A100 = dict(nvmlDeviceGetName="NVIDIA A100-SXM4-40GB", nvmlDeviceGetUUID="GPU-aaaa0000-1111")
T4 = dict(nvmlDeviceGetName="Tesla T4", nvmlDeviceGetUUID="GPU-bbbb0000-2222",
          nvmlDeviceGetCudaComputeCapability=(7, 5),
          nvmlDeviceGetMemoryInfo=SimpleNamespace(used=0, total=15 * GiB, free=15 * GiB))


def started_kernel() -> RuntimeState:
    """A process that has chosen nothing, started without CUDA_VISIBLE_DEVICES, CUDA not started,
    outside a Jupyter kernel."""
    return RuntimeState(visible_at_start=None, cuda_user=lambda: None, kernel_id=lambda: None)


@pytest.fixture(autouse=True)
def kernel(monkeypatch):
    """Each test starts with nothing selected and the environment it found."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv(runtime.DEVICE_ENV, raising=False)
    state = started_kernel()
    before = runtime.install(state)
    yield state
    runtime.install(before)
    # select() and apply_saved() write os.environ directly: nothing may leak into later tests
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    os.environ.pop(runtime.DEVICE_ENV, None)


@pytest.fixture
def two_gpus(fake_nvml):
    return fake_nvml([FakeGpu(**A100), FakeGpu(**T4)])


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


# ---------------------------------------------------------------- the one parser


@pytest.mark.parametrize("text, kind, indices, canonical", [
    (None, "auto", (), "auto"), ("", "auto", (), "auto"), ("AUTO", "auto", (), "auto"),
    ("cpu", "cpu", (), "cpu"), ("none", "cpu", (), "cpu"), ("mps", "mps", (), "mps"),
    ("cuda", "cuda", (), "cuda"), ("gpu", "cuda", (), "cuda"), (" CUDA:1 ", "cuda", (1,), "cuda:1"),
    ("gpu:0,1", "cuda", (0, 1), "cuda:0,1"), ("gpu:2, 0", "cuda", (2, 0), "cuda:2,0"), (3, "cuda", (3,), "cuda:3"),
])
def test_parse_spec_accepts_every_documented_form(text, kind, indices, canonical):
    spec = parse_spec(text)
    assert (spec.kind, spec.indices, str(spec)) == (kind, indices, canonical)
    assert parse_spec(str(spec)) == spec  # the canonical form parses back to itself


@pytest.mark.parametrize("text", ["tpu", "cuda:", "cuda:-1", "gpu:a", "cuda1", "xpu:0", "cuda:0;1", -1, True])
def test_parse_spec_refuses_anything_else_in_one_line(text):
    with pytest.raises(ConfigError) as err:
        parse_spec(text)
    message = str(err.value)
    assert "\n" not in message and "Unknown device" in message


def test_parse_spec_refuses_a_gpu_named_twice():
    with pytest.raises(ConfigError, match="names a GPU twice"):
        parse_spec("gpu:1,1")


def test_torch_devices_parse_too():
    torch = pytest.importorskip("torch")
    assert parse_spec(torch.device("cpu")) == DeviceSpec("cpu")
    assert parse_spec(torch.device("cuda", 1)) == DeviceSpec("cuda", (1,))


# ---------------------------------------------------------------- discovery


def test_this_machine_lists_its_cpu_first(fake_nvml):
    fake_nvml([], init_error=None)
    devices = runtime.devices()
    cpu = devices[0]
    assert (cpu.spec, cpu.kind) == ("cpu", "cpu")
    assert cpu.details["logical_cores"] == psutil.cpu_count()
    assert cpu.memory_total_bytes == psutil.virtual_memory().total
    assert json.loads(json.dumps([d.to_dict() for d in devices]))[0]["spec"] == "cpu"


def test_gpus_come_from_nvml_with_their_details(two_gpus):
    info = runtime.discover()
    gpus = [d for d in info.devices if d.kind == "cuda"]
    assert [(d.spec, d.name) for d in gpus] == [("cuda:0", "NVIDIA A100-SXM4-40GB"), ("cuda:1", "Tesla T4")]
    assert gpus[0].memory_total_bytes == 40 * GiB and gpus[1].memory_total_bytes == 15 * GiB
    assert gpus[0].details["uuid"] == "GPU-aaaa0000-1111" and gpus[1].details["compute_capability"] == "7.5"
    assert info.gpu_problem is None and info.selected == "auto"
    text = str(info)
    assert "cuda:1" in text and "Tesla T4" in text and "15.0 GiB" in text
    json.dumps(info.to_dict())  # JSON-safe for the server extension


def test_listing_never_imports_torch_or_creates_a_cuda_context():
    code = ("import sys, colabmagic.runtime as r\n"
            "r.devices(); r.discover(); r.selected(); r.to_notebook_metadata('cpu')\n"
            "print('torch' in sys.modules, 'IPython' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.parametrize("visible, names", [
    ("1", ["Tesla T4"]),
    ("GPU-bbbb", ["Tesla T4"]),  # a UUID prefix, as CUDA accepts
    ("1,0", ["Tesla T4", "NVIDIA A100-SXM4-40GB"]),
    ("0,7,1", ["NVIDIA A100-SXM4-40GB"]),  # CUDA stops at the first entry it cannot use
])
def test_cuda_visible_devices_at_start_narrows_the_list(two_gpus, kernel, visible, names):
    kernel.visible_at_start = visible
    gpus = [d for d in runtime.devices() if d.kind == "cuda"]
    assert [d.name for d in gpus] == names
    assert [d.spec for d in gpus] == [f"cuda:{i}" for i in range(len(names))]


def test_what_to_offer_and_what_auto_picks(two_gpus):
    info = runtime.discover()
    assert [spec for _, spec in info.choices()] == ["auto", "cpu", "cuda:0", "cuda:1", "gpu:0,1"]
    assert ("cuda:1: Tesla T4, 15.0 GiB", "cuda:1") in info.choices()
    assert info.best() == "cuda:0" and [d.spec for d in info.named("auto")] == ["cuda:0"]
    assert [d.spec for d in info.named("gpu:1,0")] == ["cuda:0", "cuda:1"]
    assert [d.spec for d in info.named("cpu")] == ["cpu"] and info.named("mps") == []


def test_cuda_visible_devices_hiding_everything_says_so(two_gpus, kernel):
    kernel.visible_at_start = "-1"
    info = runtime.discover()
    assert [d.kind for d in info.devices] == ["cpu"]
    assert "hid every GPU" in info.gpu_problem


# ---------------------------------------------------------------- selection


def test_select_cpu_is_the_default_train_uses():
    selection = runtime.select("cpu")
    assert (selection.spec, selection.applied, selection.restart_needed) == ("cpu", True, False)
    assert runtime.selected() == "cpu"
    pytest.importorskip("torch")
    from colabmagic.train.device import resolve_device

    assert str(resolve_device("auto")) == "cpu"
    assert json.loads(json.dumps(selection.to_dict()))["spec"] == "cpu"


def test_selecting_a_gpu_before_cuda_starts_hides_the_others(two_gpus, kernel):
    selection = runtime.select("cuda:1")
    assert selection.applied and not selection.restart_needed
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-bbbb0000-2222"  # by UUID: CUDA's order may differ
    assert "hidden" in selection.message and "Tesla T4" in selection.message
    assert kernel.torch_index(1) == 0  # torch numbers the one visible GPU 0
    with pytest.raises(DeviceError, match="cuda:0 is hidden"):
        kernel.torch_index(0)
    hidden = {d.spec: d.details["hidden"] for d in runtime.devices() if d.kind == "cuda"}
    assert hidden == {"cuda:0": True, "cuda:1": False}
    back = runtime.select("gpu:0,1")  # every GPU again: the variable as the kernel started
    assert back.applied and "CUDA_VISIBLE_DEVICES" not in os.environ
    assert kernel.torch_index(0) == 0


def test_selecting_a_gpu_after_cuda_started_needs_a_restart_to_hide(two_gpus, kernel):
    kernel.cuda_user = lambda: "torch"
    selection = runtime.select("cuda:1")
    assert selection.applied and selection.restart_needed  # the default device works now ...
    assert "restart" in selection.message and "already initialised" in selection.message
    assert runtime.selected() == "cuda:1" and kernel.torch_index(1) == 1  # ... torch still sees both
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-bbbb0000-2222"  # for processes it starts (torchrun)


def test_a_gpu_hidden_earlier_cannot_be_selected_without_restart(two_gpus, kernel):
    runtime.select("cuda:1")
    kernel.cuda_user = lambda: "torch"
    selection = runtime.select("cuda:0")
    assert not selection.applied and selection.restart_needed
    assert runtime.selected() == "cuda:1"  # unchanged


@pytest.mark.parametrize("spec, expected", [
    ("cuda:7", "device cuda:7 does not exist: this machine has 2 CUDA devices (cuda:0, cuda:1)"),
    ("gpu:0,5", "device cuda:5 does not exist"),
])
def test_a_gpu_that_does_not_exist_is_refused_and_changes_nothing(two_gpus, spec, expected):
    runtime.select("cpu")
    with pytest.raises(DeviceError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        runtime.select(spec)
    assert runtime.selected() == "cpu" and "CUDA_VISIBLE_DEVICES" not in os.environ


def test_no_gpu_at_all_is_one_clear_line(fake_nvml):
    import pynvml

    fake_nvml([], init_error=pynvml.NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(DeviceError) as err:
        runtime.select("cuda")
    assert str(err.value) == ("device cuda is not available: no NVIDIA GPU here (NVIDIA driver not loaded "
                              "(is the kernel module installed and loaded?)); use cpu or auto")


def test_a_kernel_started_with_colabmagic_device_uses_it(monkeypatch):
    monkeypatch.setenv(runtime.DEVICE_ENV, "cpu")
    assert runtime.selected() == "cpu"
    monkeypatch.setenv(runtime.DEVICE_ENV, "banana")  # a bad variable must not break every run
    assert runtime.selected() == "auto"


def test_train_follows_the_selection(shell, two_gpus):
    """%runtime cuda, then the device %train resolves for --device auto (its default): CUDA, which
    this CPU-only torch refuses in one line."""
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the refusal cannot be shown")
    from colabmagic.train.config import TrainConfig
    from colabmagic.train.device import resolve_device

    run_ok(shell, "%runtime cuda -q")
    with pytest.raises(DeviceError) as err:
        resolve_device(TrainConfig().device or "auto")
    assert str(err.value).startswith("device cuda is not available (")
    run_ok(shell, "%runtime cpu -q")
    assert str(resolve_device("auto")) == "cpu"


def test_timing_parses_devices_through_runtime():
    from colabmagic.timing import time_callable

    with pytest.raises(ConfigError, match="Unknown device 'tpu'"):
        time_callable(lambda: None, device="tpu")
    with pytest.raises(DeviceError, match="not 'mps'"):
        time_callable(lambda: None, device="mps")
    assert time_callable(lambda: None, number=2, repeat=2, device="cpu").backend == "cpu"


# ---------------------------------------------------------------- notebook metadata and kernel start


def test_metadata_uses_colabs_keys(two_gpus):
    assert runtime.to_notebook_metadata("cpu") == {"accelerator": "None", "colab": {"gpuType": ""}}
    assert runtime.to_notebook_metadata("cuda:1") == {"accelerator": "GPU", "colab": {"gpuType": "T4"}}
    assert runtime.to_notebook_metadata("cuda") == {"accelerator": "GPU", "colab": {"gpuType": "A100"}}
    assert runtime.to_notebook_metadata("auto")["accelerator"] == "GPU"  # GPUs exist here
    assert runtime.to_notebook_metadata("mps") == {"accelerator": "GPU", "colab": {"gpuType": "MPS"}}


@pytest.mark.parametrize("metadata, spec", [
    ({"accelerator": "GPU", "colab": {"gpuType": "T4"}}, "cuda:1"),
    ({"accelerator": "GPU", "colab": {"gpuType": "a100"}}, "cuda:0"),
    ({"accelerator": "GPU", "colab": {"gpuType": "L4"}}, "cuda"),  # written on Colab, no L4 here
    ({"accelerator": "GPU"}, "cuda"),
    ({"accelerator": "None"}, "cpu"),
    ({"accelerator": "TPU", "colab": {"gpuType": ""}}, None),
    ({"kernelspec": {"name": "python3"}}, None),
    ({}, None), (None, None),
])
def test_metadata_back_to_a_spec(two_gpus, metadata, spec):
    assert runtime.from_notebook_metadata(metadata) == spec


def test_metadata_round_trips(two_gpus):
    for spec in ("cpu", "cuda:0", "cuda:1", "mps"):
        assert runtime.from_notebook_metadata(runtime.to_notebook_metadata(spec)) == spec


@pytest.mark.parametrize("name, short", [
    ("Tesla T4", "T4"), ("NVIDIA A100-SXM4-40GB", "A100"), ("NVIDIA H100 80GB HBM3", "H100"),
    ("NVIDIA L4", "L4"), ("NVIDIA H200", "H200"), ("NVIDIA GeForce RTX 4090", "RTX 4090"),
])
def test_gpu_type_names_as_colab_writes_them(name, short):
    assert runtime.gpu_type(name) == short


def test_kernel_env_hides_gpus_before_cuda_starts(two_gpus):
    assert runtime.kernel_env("cpu") == {"COLABMAGIC_DEVICE": "cpu"}
    assert runtime.kernel_env("cuda:1") == {"COLABMAGIC_DEVICE": "cuda:0", "CUDA_VISIBLE_DEVICES": "GPU-bbbb0000-2222"}
    assert runtime.kernel_env("gpu:0,1") == {"COLABMAGIC_DEVICE": "cuda:0,1"}  # both: nothing to hide


# ---------------------------------------------------------------- %runtime


def test_runtime_magic_lists_and_selects(shell, capsys, two_gpus):
    run_ok(shell, "%runtime")
    out = capsys.readouterr().out
    assert out.startswith("runtime: auto selected") and "cuda:1   Tesla T4" in out
    selection = run_ok(shell, "%runtime cuda:1 -o")
    assert isinstance(selection, runtime.Selection) and selection.spec == "cuda:1"
    assert "Tesla T4" in capsys.readouterr().out
    run_ok(shell, "%runtime --json")
    data = json.loads(capsys.readouterr().out)
    assert data["selected"] == "cuda:1" and [d["spec"] for d in data["devices"]] == ["cpu", "cuda:0", "cuda:1"]


@pytest.mark.parametrize("line, expected", [
    ("%runtime tpu", "Unknown device 'tpu': use auto, cpu, cuda, cuda:N, gpu:0,1 or mps"),
    ("%runtime cuda:9", "device cuda:9 does not exist"),
    ("%runtime --bogus", "unrecognized arguments"),
])
def test_runtime_magic_bad_input_is_one_usage_error(shell, two_gpus, line, expected):
    message = usage_error(shell, line)
    assert expected in message and "\n" not in message
    assert runtime.selected() == "auto"


# ---------------------------------------------------------------- across a kernel restart


@pytest.fixture
def in_kernel(kernel, monkeypatch, tmp_path):
    """A Jupyter kernel's id (kept across restarts) and a private state folder."""
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path))
    kernel.kernel_id = lambda: "kern-1"
    return tmp_path / "colabmagic-runtime-kern-1.json"


def restart_kernel() -> RuntimeState:
    """What a restart resets: the process's state, the environment, CUDA; the kernel id stays."""
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    os.environ.pop(runtime.DEVICE_ENV, None)
    restarted = started_kernel()
    restarted.kernel_id = lambda: "kern-1"
    runtime.install(restarted)
    return restarted


def test_a_choice_needing_a_restart_is_applied_in_the_restarted_kernel(two_gpus, kernel, in_kernel, shell, capsys):
    kernel.cuda_user = lambda: "torch"
    assert runtime.select("cuda:1").restart_needed
    assert json.loads(in_kernel.read_text())["env"] == {"COLABMAGIC_DEVICE": "cuda:0",
                                                         "CUDA_VISIBLE_DEVICES": "GPU-bbbb0000-2222"}
    restarted = restart_kernel()
    run_ok(shell, "%unload_ext colabmagic")
    run_ok(shell, "%load_ext colabmagic")  # the restarted kernel's first cell
    assert "runtime cuda:1 applied" in capsys.readouterr().out
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-bbbb0000-2222" and runtime.selected() == "cuda:0"
    assert restarted.visible_at_start == "GPU-bbbb0000-2222"  # as if the kernel had started so
    assert [(d.spec, d.name) for d in runtime.devices() if d.kind == "cuda"] == [("cuda:0", "Tesla T4")]
    assert not in_kernel.exists()  # used once


def test_a_later_choice_replaces_one_waiting_for_a_restart(two_gpus, kernel, in_kernel):
    kernel.cuda_user = lambda: "torch"
    runtime.select("cuda:1")
    assert in_kernel.exists()
    runtime.select("cpu")
    assert not in_kernel.exists()
    runtime.select("cuda:1")
    kernel.spec = None
    assert runtime.apply_saved() is None  # CUDA is in use: too late to hide GPUs here ...
    assert in_kernel.exists()  # ... so the choice waits for the real restart


def test_outside_a_kernel_nothing_is_kept(two_gpus, kernel, monkeypatch, tmp_path):
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path))
    kernel.cuda_user = lambda: "torch"
    selection = runtime.select("cuda:1")
    assert list(tmp_path.iterdir()) == [] and runtime.apply_saved() is None
    # the message promises nothing that will not happen
    assert "kept and applied" not in selection.message
    assert selection.message.endswith("(outside a Jupyter kernel nothing keeps the choice: "
                                      "start Python with CUDA_VISIBLE_DEVICES=GPU-bbbb0000-2222)")


def test_in_a_kernel_the_message_says_the_choice_is_kept(two_gpus, kernel, in_kernel):
    kernel.cuda_user = lambda: "torch"
    selection = runtime.select("cuda:1")
    assert in_kernel.exists()
    assert selection.message.endswith("takes a restart (the choice is kept and applied by %load_ext colabmagic "
                                      "in the restarted kernel)")


def test_a_choice_that_cannot_be_written_is_not_said_to_be_kept(two_gpus, kernel, monkeypatch, in_kernel, tmp_path):
    kernel.cuda_user = lambda: "torch"
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(blocker / "state"))  # under a file: cannot be made
    message = runtime.select("cuda:1").message
    assert "kept and applied" not in message and "could not be kept in" in message


def test_the_kept_choice_is_a_versioned_record_both_directions(two_gpus, kernel, in_kernel):
    """The contract of the one record a kernel writes for its restarted self (DESIGN §3)."""
    kernel.cuda_user = lambda: "torch"
    runtime.select("cuda:1")
    raw = json.loads(in_kernel.read_text())
    assert raw == {"record_format": CHOICE_KIND, "record_version": CHOICE_VERSION, "spec": "cuda:1",
                   "env": {"COLABMAGIC_DEVICE": "cuda:0", "CUDA_VISIBLE_DEVICES": "GPU-bbbb0000-2222"}}
    assert read_record(in_kernel, CHOICE_KIND, CHOICE_VERSION, RestartChoice) == RestartChoice(
        "cuda:1", {"COLABMAGIC_DEVICE": "cuda:0", "CUDA_VISIBLE_DEVICES": "GPU-bbbb0000-2222"})
    # a newer minor version added a key: read, the key ignored
    in_kernel.write_text(json.dumps({**raw, "chosen_by": "the toolbar"}))
    restart_kernel()
    assert runtime.apply_saved() == "cuda:1" and not in_kernel.exists()


def test_a_choice_file_written_before_records_had_versions_is_applied(two_gpus, in_kernel):
    """What colabmagic wrote before the record carried a kind and a version: read as version 1."""
    in_kernel.write_text(json.dumps({"spec": "cuda:1", "env": {"COLABMAGIC_DEVICE": "cuda:0",
                                                                "CUDA_VISIBLE_DEVICES": "GPU-bbbb0000-2222"}}))
    assert runtime.apply_saved() == "cuda:1"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-bbbb0000-2222" and runtime.selected() == "cuda:0"
    assert not in_kernel.exists()


@pytest.mark.parametrize("text", [
    json.dumps({"record_format": CHOICE_KIND, "record_version": CHOICE_VERSION + 1, "spec": "cuda:1", "env": {}}),
    json.dumps({"record_format": "colabmagic-session", "record_version": 1, "spec": "cuda:1", "env": {}}),
    json.dumps({"spec": "cuda:1"}),  # no environment: not a choice
    json.dumps({"spec": "cuda:1", "env": ["CUDA_VISIBLE_DEVICES"]}),
    "{not json",
])
def test_a_choice_file_this_version_cannot_read_is_left_alone(two_gpus, in_kernel, text):
    in_kernel.write_text(text)
    assert runtime.apply_saved() is None
    assert in_kernel.read_text() == text  # neither applied nor removed (a newer colabmagic's stays for it)
    assert runtime.selected() == "auto" and "CUDA_VISIBLE_DEVICES" not in os.environ


def test_a_choice_from_a_newer_colabmagic_is_refused_in_one_line(in_kernel):
    in_kernel.write_text(json.dumps({"record_format": CHOICE_KIND, "record_version": CHOICE_VERSION + 1,
                                     "spec": "cuda:1", "env": {}}))
    with pytest.raises(NewerRecord) as refused:
        read_choice(in_kernel)
    assert "upgrade colabmagic" in str(refused.value) and "\n" not in str(refused.value)


def test_mps_is_listed_on_apple_silicon(monkeypatch, fake_nvml):
    fake_nvml([])
    fake_torch = SimpleNamespace(backends=SimpleNamespace(mps=SimpleNamespace(is_available=lambda: True)))
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    assert [d.spec for d in runtime.devices()] == ["cpu", "mps"]
    assert runtime.select("mps").applied and runtime.selected() == "mps"
    fake_torch.backends.mps.is_available = lambda: False
    with pytest.raises(DeviceError, match="device mps is not available"):
        runtime.select("mps")


@pytest.mark.gpu
def test_real_gpus_are_listed_through_nvml_without_a_cuda_context():
    expected = nvidia_smi_gpus()
    code = ("import json, sys, colabmagic.runtime as r\n"
            "gpus = [d for d in r.devices() if d.kind == 'cuda']\n"
            "maps = open('/proc/self/maps').read()\n"
            "print(json.dumps({'names': [g.name for g in gpus], 'mib': [g.memory_total_bytes // 2**20 for g in gpus],"
            " 'specs': [g.spec for g in gpus], 'torch': 'torch' in sys.modules, 'libcuda': 'libcuda.so' in maps}))")
    seen = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                     check=True).stdout.strip().splitlines()[-1])
    assert seen["names"] == [name for name, _ in expected]
    assert seen["mib"] == [int(mib) for _, mib in expected]
    assert seen["specs"] == [f"cuda:{i}" for i in range(len(expected))]
    assert seen["torch"] is False and seen["libcuda"] is False  # NVML only: no CUDA driver, no context


@pytest.mark.gpu
def test_real_gpu_selection_resolves_for_train_and_timing():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    from colabmagic.timing import _choose_device
    from colabmagic.train.device import resolve_device

    assert runtime.select("cuda:0").applied
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert _choose_device(None, False)[1] == 0
    runtime.select("cpu")
    assert resolve_device("auto") == torch.device("cpu")


# ---------------------------------------------------------------- the GPU CUDA really uses

DRIVER_PROBE = """
import ctypes, sys
sys.path.insert(0, sys.argv[2])
from colabmagic.runtime import cuda
before = cuda.cuda_user()
ctypes.CDLL(sys.argv[1])  # what torch.cuda.is_available() does first: load the CUDA driver library
print(repr(before), repr(cuda.cuda_user()))
"""


def test_a_cuda_driver_loaded_by_an_earlier_call_counts_as_started(tmp_path):
    """torch.cuda.is_available() starts the driver (which reads CUDA_VISIBLE_DEVICES then) while
    torch.cuda.is_initialized() stays False; %runtime cuda:1 then believed it could still hide the
    other GPUs. A library named libcuda.so.1 mapped into a real process is what the check reads."""
    import shutil
    from pathlib import Path

    if shutil.which("gcc") is None:
        pytest.skip("needs gcc to build a stand-in libcuda.so.1")
    source = tmp_path / "driver.c"
    source.write_text("int cuInit(unsigned int flags) { return 0; }\n")
    library = tmp_path / "libcuda.so.1"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    root = str(Path(runtime.__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", DRIVER_PROBE, str(library), root], capture_output=True, text=True,
                         check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    before, after = out.stdout.split(" ", 1)
    assert before == "None" and "CUDA driver" in after


def fake_cuda(monkeypatch, uuids: list[str]):
    """torch.cuda as a machine with these GPUs (in CUDA's order) would answer: what cannot exist here."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(uuids))
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: SimpleNamespace(uuid=uuids[i]))


def test_cuda_numbering_is_mapped_to_nvmls_by_uuid(two_gpus, monkeypatch):
    """NVML numbers by PCI bus (the A100 first here), CUDA fastest first (the T4 was first in
    this stand-in): cuda:N means NVML's N, the GPU %runtime and %gpu_info name."""
    import torch

    fake_cuda(monkeypatch, ["bbbb0000-2222", "aaaa0000-1111"])
    assert runtime.torch_device("cuda:0") == torch.device("cuda", 1)
    assert runtime.torch_device("cuda:1") == torch.device("cuda", 0)
    fake_cuda(monkeypatch, ["aaaa0000-1111", "bbbb0000-2222"])  # same order: unchanged
    assert runtime.torch_device("cuda:1") == torch.device("cuda", 1)


def test_a_gpu_hidden_from_an_earlier_cuda_start_is_refused_not_swapped(two_gpus, monkeypatch):
    """CUDA started with only the T4 visible: cuda:0 (the A100) must not silently run on the T4."""
    fake_cuda(monkeypatch, ["bbbb0000-2222"])
    with pytest.raises(DeviceError, match=r"cuda:0 \(NVIDIA A100-SXM4-40GB\) is hidden from this kernel's CUDA"):
        runtime.torch_device("cuda:0")


MIG_SLICES = {
    0: FakeGpu(nvmlDeviceGetName="NVIDIA A100-SXM4-40GB MIG 3g.20gb", nvmlDeviceGetUUID="MIG-cccc0000-3333",
               nvmlDeviceGetMemoryInfo=SimpleNamespace(used=0, total=20 * GiB, free=20 * GiB)),
    2: FakeGpu(nvmlDeviceGetName="NVIDIA A100-SXM4-40GB MIG 1g.5gb", nvmlDeviceGetUUID="MIG-dddd0000-4444",
               nvmlDeviceGetMemoryInfo=SimpleNamespace(used=0, total=5 * GiB, free=5 * GiB)),
}


def test_mig_slices_are_the_cuda_devices(fake_nvml, kernel):
    """A GPU in MIG mode is its slices to CUDA: each is listed with its own name and memory (the
    parent's whole 40 GB was shown), and CUDA_VISIBLE_DEVICES=MIG-... selects one (it matched no
    GPU-... UUID, so %runtime cuda refused a slice torch could use)."""
    fake_nvml([FakeGpu(**A100, nvmlDeviceGetMigMode=[1, 1], nvmlDeviceGetMaxMigDeviceCount=7, mig_slots=MIG_SLICES)])
    gpus = [d for d in runtime.devices() if d.kind == "cuda"]
    assert [(d.spec, d.name, d.memory_total_bytes) for d in gpus] == [
        ("cuda:0", "NVIDIA A100-SXM4-40GB MIG 3g.20gb", 20 * GiB), ("cuda:1", "NVIDIA A100-SXM4-40GB MIG 1g.5gb", 5 * GiB)]
    kernel.visible_at_start = "MIG-dddd0000-4444"
    runtime_now = runtime.discover()
    assert runtime_now.gpu_problem is None
    assert [d.name for d in runtime_now.devices if d.kind == "cuda"] == ["NVIDIA A100-SXM4-40GB MIG 1g.5gb"]
    assert runtime.select("cuda").applied


@pytest.mark.gpu
def test_real_gpus_cuda_n_is_nvmls_n_by_uuid(kernel):
    """On a GPU machine: every cuda:N resolves to the torch device whose UUID NVML gives cuda:N, and
    a started CUDA driver is seen as started."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    kernel.visible_at_start = os.environ.get("CUDA_VISIBLE_DEVICES")  # as the process started
    kernel.cuda_user = cuda_user  # the real question: this test starts CUDA
    gpus = [d for d in runtime.devices() if d.kind == "cuda"]
    assert gpus, "NVML lists no GPU beside a working CUDA"
    for number, device in enumerate(gpus):
        index = runtime.torch_device(f"cuda:{number}").index
        assert same_gpu(device.details["uuid"], str(torch.cuda.get_device_properties(index).uuid))
    assert driver_loaded()


def test_ddp_counts_the_gpus_its_workers_will_see(two_gpus, monkeypatch):
    """%runtime cuda:1 after CUDA started here: this kernel's device_count() still says 2, but the
    torchrun workers start with CUDA_VISIBLE_DEVICES naming one GPU, so --devices 2 cannot work."""
    assert runtime.gpus_for_new_processes() == 2
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-bbbb0000-2222")
    assert runtime.gpus_for_new_processes() == 1
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert runtime.gpus_for_new_processes() == 0


def test_a_kernel_started_with_some_gpus_hidden_goes_back_to_exactly_those(fake_nvml, kernel, monkeypatch):
    """Started with CUDA_VISIBLE_DEVICES naming two of three GPUs: they are cuda:0 and cuda:1, hiding
    one of them works, and 'all' means back to what the kernel started with, never every GPU."""
    third = dict(nvmlDeviceGetName="NVIDIA L4", nvmlDeviceGetUUID="GPU-eeee0000-5555")
    fake_nvml([FakeGpu(**A100), FakeGpu(**third), FakeGpu(**T4)])
    started_with = "GPU-aaaa0000-1111,GPU-bbbb0000-2222"
    kernel.visible_at_start = started_with
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", started_with)
    assert [d.name for d in runtime.devices() if d.kind == "cuda"] == ["NVIDIA A100-SXM4-40GB", "Tesla T4"]
    assert runtime.select("cuda:1").applied
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "GPU-bbbb0000-2222"
    assert runtime.select("gpu:0,1").applied
    assert os.environ["CUDA_VISIBLE_DEVICES"] == started_with
