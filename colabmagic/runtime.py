"""Which devices this kernel can use, and which one runs things when nobody says.

- `parse_spec(text)` is the one parser of device specs in colabmagic: `auto`, `cpu`, `cuda`,
  `cuda:N`, `gpu:0,1` (several GPUs; `gpu` is `cuda`), `mps`. `%train --device`, `%%timeit_gpu`,
  `%runtime` and the JupyterLab toolbar all go through it, so they accept and refuse the same words.
- `devices()` lists the CPU, each NVIDIA GPU and Apple's MPS. GPUs are read through NVML
  (`colabmagic.nvml`), so listing them never imports torch and never creates a CUDA context.
- `select(spec)` sets the default device: what `%train` uses when `--device` is not given (and
  `%%timeit_gpu` times on). Choosing particular GPUs also hides the others through
  `CUDA_VISIBLE_DEVICES`; CUDA reads that variable once, when it is initialised, so after that the
  selection still sets the default device, and hiding waits for a kernel restart (the Selection says so).
- `to_notebook_metadata` / `from_notebook_metadata` store a selection with Colab's notebook keys
  (`accelerator`, `colab.gpuType`); `kernel_env(spec)` is what a kernel started for that notebook
  needs in its environment (`COLABMAGIC_DEVICE`, and `CUDA_VISIBLE_DEVICES` when GPUs are hidden).

GPU numbering: `cuda:N` counts the GPUs this kernel could see when it started, in NVML's
(nvidia-smi's) order — the GPUs named in `CUDA_VISIBLE_DEVICES` then, or all of them. Once this
module has hidden GPUs, it maps those numbers onto torch's own (which start again at 0).
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
from dataclasses import dataclass, field, replace
from importlib.util import find_spec

from .errors import ConfigError, DeviceError

__all__ = ["Device", "DeviceSpec", "Runtime", "Selection", "devices", "discover", "from_notebook_metadata",
           "cuda_missing", "kernel_env", "parse_spec", "select", "selected", "to_notebook_metadata", "torch_device",
           "unavailable"]

SPEC_HELP = "auto, cpu, cuda, cuda:N, gpu:0,1 or mps"
DEVICE_ENV = "COLABMAGIC_DEVICE"  # a spec applied when this module is first used (set at kernel start)
VISIBLE_ENV = "CUDA_VISIBLE_DEVICES"
# CUDA_VISIBLE_DEVICES as the process got it: GPUs we hide later stay selectable (after a restart)
_VISIBLE_AT_START = os.environ.get(VISIBLE_ENV)
# Libraries that initialise CUDA on import or first use, other than torch (asked directly)
_OTHER_CUDA_USERS = ("tensorflow", "jax", "cupy", "numba.cuda", "pycuda.autoinit")


# ---------------------------------------------------------------- specs


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed device spec. `indices` are GPU numbers (cuda only); () means the default GPU."""

    kind: str  # "auto", "cpu", "cuda" or "mps"
    indices: tuple[int, ...] = ()

    def __str__(self) -> str:
        if self.kind == "cuda" and self.indices:
            return "cuda:" + ",".join(str(i) for i in self.indices)
        return self.kind


_CUDA = re.compile(r"(?:cuda|gpu)(?::\s*(\d+(?:\s*,\s*\d+)*))?")


def parse_spec(text) -> DeviceSpec:
    """auto | cpu | cuda | cuda:N | gpu:0,1 | mps (any case; `gpu` means cuda, `none` the CPU).

    Also takes an int (a GPU number), a torch.device or a DeviceSpec. Anything else is a
    ConfigError naming the accepted forms.
    """
    if isinstance(text, DeviceSpec):
        return text
    if isinstance(text, bool):
        raise ConfigError(f"Unknown device {text!r}: use {SPEC_HELP}")
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(f"Unknown device {text!r}: GPU numbers start at 0")
        return DeviceSpec("cuda", (text,))
    spec = "auto" if text is None else str(text).strip().lower()
    if spec in ("", "auto"):
        return DeviceSpec("auto")
    if spec in ("cpu", "none"):
        return DeviceSpec("cpu")
    if spec in ("mps", "mps:0"):
        return DeviceSpec("mps")
    match = _CUDA.fullmatch(spec)
    if not match:
        raise ConfigError(f"Unknown device {text!r}: use {SPEC_HELP}")
    if match.group(1) is None:
        return DeviceSpec("cuda")
    indices = tuple(int(i) for i in match.group(1).split(","))
    if len(set(indices)) != len(indices):
        raise ConfigError(f"device {text!r} names a GPU twice: list each one once, e.g. gpu:0,1")
    return DeviceSpec("cuda", indices)


# ---------------------------------------------------------------- discovery


@dataclass
class Device:
    """One device this kernel can use. `details` holds JSON-safe extras (cores, UUID, capability)."""

    spec: str  # "cpu", "cuda:0", "mps": what select() and %train --device take
    kind: str  # "cpu", "cuda" or "mps"
    name: str
    memory_total_bytes: int | None  # RAM for the CPU, device memory for a GPU; None if unknown
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class Runtime:
    """What `%runtime` shows: the devices, the selection, and why there is no GPU (if so)."""

    devices: list[Device]
    selected: str
    gpu_problem: str | None  # why no NVIDIA GPU is listed; None when NVML answered
    cuda_initialized: bool  # hiding GPUs now needs a kernel restart
    visible_devices: str | None  # CUDA_VISIBLE_DEVICES now (None: unset)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        lines = [f"runtime: {self.selected} selected"
                 + (" (CUDA already initialised in this kernel)" if self.cuda_initialized else "")]
        for d in self.devices:
            mark = "*" if _is_selected(d.spec, self.selected) else " "
            lines.append(f" {mark} {d.spec:<8} {d.name}{_memory_text(d)}{_detail_text(d)}")
        if self.gpu_problem:
            lines.append(f"   no NVIDIA GPU: {self.gpu_problem}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


def devices() -> list[Device]:
    """The CPU, then each NVIDIA GPU this kernel could see at start (NVML: no CUDA context), then MPS."""
    return discover().devices


def discover() -> Runtime:
    from .system import cpu_static, memory_total

    model, logical, physical = cpu_static()
    found = [Device("cpu", "cpu", model, memory_total(),
                    {"logical_cores": logical, "physical_cores": physical})]
    gpus, problem = _visible_gpus()
    for number, gpu in enumerate(gpus):
        found.append(Device(f"cuda:{number}", "cuda", gpu.name or f"NVIDIA GPU {gpu.index}", gpu.memory_total, {
            "nvml_index": gpu.index, "uuid": gpu.uuid, "compute_capability": gpu.compute_capability,
            "driver_version": gpu.driver_version, "cuda_driver_version": gpu.cuda_driver_version,
            "memory_used_bytes": gpu.memory_used, "mig": gpu.mig_mode,
            "hidden": not _torch_can_see(number),
        }))
    if _mps_available():
        found.append(Device("mps", "mps", "Apple GPU (Metal, MPS)", None, {"unified_memory": True}))
    return Runtime(devices=found, selected=selected(), gpu_problem=problem,
                   cuda_initialized=_cuda_initialized() is not None,
                   visible_devices=os.environ.get(VISIBLE_ENV))


def _visible_gpus(*, now: bool = False):
    """The CUDA devices as NVML knows them (a GPU, or each MIG slice of a GPU in MIG mode: CUDA
    runs on slices, not on their parent), narrowed to those CUDA_VISIBLE_DEVICES named when the
    process started (`now`: as it is set now, which processes started from here will see)."""
    from .nvml import read_gpus

    visible = os.environ.get(VISIBLE_ENV) if now else _VISIBLE_AT_START
    gpus, problem = read_gpus(processes=False)
    gpus = [device for gpu in gpus for device in _cuda_devices(gpu)]
    if visible is None or problem is not None:
        return gpus, problem
    chosen = []
    for entry in visible.split(","):
        entry = entry.strip()
        if not entry:
            break
        if entry.lstrip("-").isdigit():
            match = [g for g in gpus if g.index == int(entry)][:1]
        else:  # a UUID (GPU-... or MIG-...) or a unique prefix of one, as CUDA accepts
            match = [g for g in gpus if g.uuid and g.uuid.lower().startswith(entry.lower())]
        if len(match) != 1 or match[0] in chosen:
            break  # CUDA stops at the first entry it cannot use
        chosen.append(match[0])
    if not chosen:
        return [], f"{VISIBLE_ENV}={visible!r} hid every GPU" + ("" if now else " when this kernel started")
    return chosen, None


def gpus_for_new_processes() -> int | None:
    """How many CUDA devices a process started now (a torchrun worker) will see: CUDA_VISIBLE_DEVICES
    as %runtime left it, which this process's own CUDA may no longer follow. None without NVML."""
    gpus, problem = _visible_gpus(now=True)
    if problem is not None and not problem.startswith(VISIBLE_ENV):  # NVML itself could not tell
        return None
    return len(gpus)


def _cuda_devices(gpu) -> list:
    """A GPU in MIG mode is its slices to CUDA (name and memory the slice's, uuid MIG-...)."""
    if not gpu.mig_mode or not gpu.mig_devices:
        return [gpu]
    return [replace(gpu, name=mig.name or f"{gpu.name} MIG {mig.index}", uuid=mig.uuid,
                    memory_total=mig.memory_total, memory_used=mig.memory_used, mig_devices=[])
            for mig in gpu.mig_devices]


def _same_gpu(nvml_uuid: str | None, torch_uuid: str | None) -> bool:
    """NVML says GPU-<uuid> or MIG-<uuid>, torch's device properties the bare uuid."""
    def bare(text: str) -> str:
        text = text.strip().lower()
        return text.split("-", 1)[1] if text.startswith(("gpu-", "mig-")) else text

    return bool(nvml_uuid and torch_uuid) and bare(nvml_uuid) == bare(torch_uuid)


def _mps_available() -> bool:
    """Apple's MPS; only a Mac can have it, so torch is asked only there (no CUDA context on a Mac)."""
    if sys.platform != "darwin":
        return False
    torch = sys.modules.get("torch")
    if torch is None:
        if find_spec("torch") is None:
            return False
        import torch
    backend = getattr(getattr(torch, "backends", None), "mps", None)
    return bool(backend is not None and backend.is_available())


def _cuda_initialized() -> str | None:
    """Which library has (or may have) initialised CUDA in this process; None when none has.

    torch.cuda.is_initialized() is not enough: torch.cuda.is_available() (or an import that calls
    it) starts the CUDA driver, which reads CUDA_VISIBLE_DEVICES then, and is_initialized() stays
    False. The process itself tells: the driver library is mapped once it has been loaded."""
    torch = sys.modules.get("torch")
    if torch is not None:
        is_initialized = getattr(getattr(torch, "cuda", None), "is_initialized", None)
        if is_initialized is not None and is_initialized():
            return "torch"
    if _driver_loaded():
        return "the CUDA driver (started by an earlier call such as torch.cuda.is_available())"
    for name in _OTHER_CUDA_USERS:
        if name in sys.modules:
            return name
    return None


def _driver_loaded() -> bool:
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return any("/libcuda.so" in line for line in maps)
    except OSError:  # not Linux: only the libraries' own words are left
        return False


# ---------------------------------------------------------------- selection


@dataclass
class Selection:
    """What select() did. applied: the spec is the default device now; restart_needed: hiding
    GPUs waits for a kernel restart (CUDA was already initialised)."""

    spec: str
    applied: bool
    restart_needed: bool
    message: str

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        return self.message

    def _repr_pretty_(self, p, cycle):
        p.text(self.message)


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.spec: DeviceSpec | None = None  # None: not chosen in this process (COLABMAGIC_DEVICE or auto)
        # GPU numbers torch sees in this process, in torch's order; None: all visible at start
        self.torch_view: tuple[int, ...] | None = None


_state = _State()


def selected() -> str:
    """The default device spec: what select() chose, else $COLABMAGIC_DEVICE, else "auto"."""
    return str(_selected_spec())


def _selected_spec() -> DeviceSpec:
    if _state.spec is not None:
        return _state.spec
    env = os.environ.get(DEVICE_ENV)
    if env:
        try:
            return parse_spec(env)
        except ConfigError:
            return DeviceSpec("auto")  # a bad variable must not break every run: auto, as if unset
    return DeviceSpec("auto")


def select(spec) -> Selection:
    """Make `spec` the default device; hide the other GPUs when particular ones are chosen.

    A spec naming no device here (cuda on a machine without GPU, cuda:7 of 2) is a DeviceError
    and changes nothing.
    """
    wanted = parse_spec(spec)
    with _state.lock:
        selection = _select(wanted)
    if not selection.restart_needed:
        save_for_restart(None)  # an earlier choice waiting for a restart is replaced by this one
    return selection


def _select(wanted: DeviceSpec) -> Selection:
    if wanted.kind in ("auto", "cpu"):
        _state.spec = wanted
        what = ("the CPU" if wanted.kind == "cpu"
                else "the best device here (first GPU, else MPS, else CPU)")
        return Selection(str(wanted), True, False, f"{wanted}: %train uses {what} when --device is not given")
    if wanted.kind == "mps":
        if not _mps_available():
            raise DeviceError("device mps is not available (it needs Apple silicon and a PyTorch built "
                              "with MPS): use cpu or auto")
        _state.spec = wanted
        return Selection("mps", True, False, "mps: %train uses Apple's GPU (MPS) when --device is not given")
    gpus, problem = _visible_gpus()
    if not gpus:
        raise DeviceError(f"device {wanted} is not available: no NVIDIA GPU here ({problem}); use cpu or auto")
    for index in wanted.indices:
        if index >= len(gpus):
            raise DeviceError(_no_such_gpu(index, len(gpus)))
    before, _state.spec = _state.spec, wanted
    selection = _hide_others(wanted, gpus)
    if not selection.applied:
        _state.spec = before
    return selection


def _hide_others(wanted: DeviceSpec, gpus) -> Selection:
    names = ", ".join(f"cuda:{i} ({gpus[i].name})" for i in (wanted.indices or (0,)))
    default = f"{wanted}: %train uses {names if wanted.indices else 'the first GPU'} when --device is not given"
    if not wanted.indices:
        return Selection(str(wanted), True, False, default)
    view = wanted.indices if len(wanted.indices) < len(gpus) else None
    now_view = _state.torch_view
    if view == now_view:
        return Selection(str(wanted), True, False, default)
    value = _visible_value(view, gpus)
    user = _cuda_initialized()
    if user is None:
        _set_visible(value)
        _state.torch_view = view
        hidden = "; the other GPUs are hidden from this kernel" if view else "; every GPU is visible again"
        return Selection(str(wanted), True, False, f"{default}{hidden} ({VISIBLE_ENV}={value or 'unset'})")
    # CUDA has read the variable already: this process keeps its view; processes it starts
    # (torchrun workers) get the new one.
    _set_visible(value)
    usable = all(_torch_can_see(i) for i in wanted.indices)
    env = f"{VISIBLE_ENV}={value}" if value is not None else f"{VISIBLE_ENV} unset"
    if save_for_restart(wanted):
        kept = "the choice is kept and applied by %load_ext colabmagic in the restarted kernel"
    elif _pending_path() is None:  # nothing restarts this process under the same id
        kept = f"outside a Jupyter kernel nothing keeps the choice: start Python with {env}"
    else:
        kept = f"the choice could not be kept in {_pending_path().parent}: start the kernel with {env}"
    restart = (f"; {user} has already initialised CUDA in this kernel, so hiding the other GPUs takes a "
               f"restart ({kept})")
    if not usable:
        return Selection(str(wanted), False, True,
                         f"{wanted} is hidden from this kernel by an earlier selection{restart}")
    return Selection(str(wanted), True, True, default + restart)


def _visible_value(view, gpus) -> str | None:
    """The CUDA_VISIBLE_DEVICES value showing `view` (GPU numbers), by UUID: the order CUDA would
    otherwise number GPUs in (fastest first) can differ from NVML's."""
    if view is None:
        return _VISIBLE_AT_START
    return ",".join(gpus[i].uuid or str(gpus[i].index) for i in view)


def _set_visible(value: str | None) -> None:
    if value is None:
        os.environ.pop(VISIBLE_ENV, None)
    else:
        os.environ[VISIBLE_ENV] = value


def _torch_can_see(number: int) -> bool:
    view = _state.torch_view
    return view is None or number in view


def _torch_index(number: int) -> int:
    """torch's index of GPU `number` (this module's numbering), or a DeviceError when hidden."""
    view = _state.torch_view
    if view is None:
        return number
    if number not in view:
        shown = ", ".join(f"cuda:{i}" for i in view)
        raise DeviceError(f"device cuda:{number} is hidden from this kernel (the runtime selection shows "
                          f"only {shown}): %runtime cuda:{number} and a kernel restart bring it back")
    return view.index(number)


def _no_such_gpu(index: int, count: int) -> str:
    have = ", ".join(f"cuda:{i}" for i in range(count))
    return (f"device cuda:{index} does not exist: this machine has {count} CUDA "
            f"device{'s' if count != 1 else ''} ({have})")


def _is_selected(device_spec: str, chosen: str) -> bool:
    wanted = parse_spec(chosen)
    if wanted.kind == "cuda":
        return device_spec.startswith("cuda:") and int(device_spec[5:]) in (wanted.indices or (0,))
    return device_spec == wanted.kind


def _memory_text(d: Device) -> str:
    n = d.memory_total_bytes
    return "" if n is None else f", {n / 2**30:.1f} GiB"


def _detail_text(d: Device) -> str:
    if d.kind == "cpu":
        return f", {d.details.get('logical_cores') or '?'} cores"
    if d.kind == "cuda":
        cc = d.details.get("compute_capability")
        extra = f", compute {cc}" if cc else ""
        return extra + (" (hidden)" if d.details.get("hidden") else "")
    return ""


# ---------------------------------------------------------------- across a kernel restart
# A kernel keeps its id when Jupyter restarts it. A choice that needed a restart is written to
# <state dir>/colabmagic-runtime-<kernel id>.json with the environment it needs; %load_ext
# colabmagic in the restarted kernel applies it (before CUDA starts, if it comes first).


def _pending_path():
    from .files import state_dir
    from .session import this_kernel_id

    kernel = this_kernel_id()
    if kernel.startswith("pid-"):
        return None  # not a Jupyter kernel: nothing restarts it under the same id
    return state_dir() / f"colabmagic-runtime-{kernel}.json"


def save_for_restart(spec) -> bool:
    """Keep `spec` for this kernel's next start (None: forget a kept one); whether it was kept."""
    import json

    from .files import write_atomically

    try:
        path = _pending_path()
        if path is None:
            return False
        if spec is None:
            path.unlink(missing_ok=True)
            return False
        data = json.dumps({"spec": str(parse_spec(spec)), "env": kernel_env(spec)}).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda f: f.write(data))
        return True
    except OSError:
        return False  # an unwritable runtime dir: the restart simply starts without the choice


def apply_saved() -> str | None:
    """Apply the choice kept for this kernel by save_for_restart, as if the kernel had started
    with it; returns its spec. Only before CUDA is initialised; the file is used once."""
    import json

    global _VISIBLE_AT_START
    if _cuda_initialized() is not None:
        return None  # too late to hide GPUs here: keep the choice for the next start
    try:
        path = _pending_path()
        if path is None or not path.is_file():
            return None
        saved = json.loads(path.read_text(encoding="utf-8"))
        path.unlink(missing_ok=True)
        env = {str(k): str(v) for k, v in saved["env"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    os.environ.update(env)
    if VISIBLE_ENV in env:
        _VISIBLE_AT_START = env[VISIBLE_ENV]  # this kernel "started" seeing only those GPUs
    with _state.lock:
        _state.spec, _state.torch_view = None, None
    return saved.get("spec")


# ---------------------------------------------------------------- torch devices


def torch_device(spec="auto"):
    """A spec -> a torch.device that exists on this machine (imports torch).

    `auto` means the selection (select(), $COLABMAGIC_DEVICE); when that is auto too: the first
    CUDA GPU, then Apple's MPS, then the CPU. Several GPUs (`gpu:0,1`) mean the first of them for
    one process.
    """
    import torch

    wanted = parse_spec(spec)
    if wanted.kind == "auto":
        wanted = _selected_spec()
    if wanted.kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _torch_mps(torch):
            return torch.device("mps")
        return torch.device("cpu")
    if wanted.kind == "cpu":
        return torch.device("cpu")
    if wanted.kind == "mps":
        if not _torch_mps(torch):
            raise DeviceError("device mps is not available (it needs Apple silicon and a PyTorch built "
                              "with MPS): use device cpu or auto")
        return torch.device("mps")
    why = cuda_missing()
    if why is not None:
        raise unavailable(wanted, why)
    if not wanted.indices:
        chosen = _selected_spec()
        if chosen.kind == "cuda" and chosen.indices:
            wanted = chosen
        else:
            return torch.device("cuda", torch.cuda.current_device())
    number = wanted.indices[0]
    index = _torch_index(number)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(_no_such_gpu(number, count))
    return torch.device("cuda", _checked_index(torch, number, index, count))


def _checked_index(torch, number: int, index: int, count: int) -> int:
    """torch's index of GPU `number` (NVML's numbering, which %runtime and %gpu_info show), checked
    by UUID: CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, and a CUDA driver
    started before a selection keeps the GPUs it saw then. Unchecked when NVML cannot tell."""
    gpus, _ = _visible_gpus()
    if number >= len(gpus) or not gpus[number].uuid:
        return index
    wanted = gpus[number].uuid
    uuids = [_torch_uuid(torch, i) for i in range(count)]
    if _same_gpu(wanted, uuids[index]) or not all(uuids):
        return index
    matches = [i for i, uuid in enumerate(uuids) if _same_gpu(wanted, uuid)]
    if not matches:
        if not any(_same_gpu(g.uuid, uuid) for g in gpus for uuid in uuids):
            return index  # torch words its UUIDs otherwise here (a driver or MIG quirk): nothing to compare
        raise DeviceError(f"device cuda:{number} ({gpus[number].name}) is hidden from this kernel's CUDA, which "
                          f"started before the selection: restart the kernel (%runtime cuda:{number} is kept)")
    return matches[0]


def _torch_uuid(torch, index: int) -> str | None:
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    return None if uuid is None else str(uuid)


def cuda_missing() -> str | None:
    """Why torch cannot use CUDA here, in the words every device error uses; None when it can.
    Imports torch only when it is installed."""
    if find_spec("torch") is None:
        return "torch is not installed"
    import torch

    if torch.cuda.is_available():
        return None
    return "this PyTorch is built without CUDA" if torch.version.cuda is None else "no CUDA GPU is visible"


def unavailable(wanted, why: str) -> DeviceError:
    """The one wording of "this device cannot be used here" for a spec (%train, %%timeit_gpu)."""
    return DeviceError(f"device {parse_spec(wanted)} is not available ({why}): use device cpu or auto")


def _torch_mps(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


# ---------------------------------------------------------------- notebook metadata


def to_notebook_metadata(spec) -> dict:
    """Colab's keys for a selection: {"accelerator": "GPU"|"None", "colab": {"gpuType": "T4"}}.

    gpuType is the GPU's short model name as Colab writes it ("T4", "A100", "H100"); "MPS" for
    Apple's GPU; "" for the CPU. `auto` is stored as what it means here now.
    """
    wanted = parse_spec(spec)
    if wanted.kind == "auto":
        wanted = _selected_spec()
    if wanted.kind == "auto":
        runtime = discover()
        kinds = [d.kind for d in runtime.devices]
        wanted = DeviceSpec("cuda") if "cuda" in kinds else DeviceSpec("mps" if "mps" in kinds else "cpu")
    if wanted.kind == "cpu":
        return {"accelerator": "None", "colab": {"gpuType": ""}}
    if wanted.kind == "mps":
        return {"accelerator": "GPU", "colab": {"gpuType": "MPS"}}
    gpus, _ = _visible_gpus()
    number = (wanted.indices or (0,))[0]
    name = gpus[number].name if number < len(gpus) else None
    return {"accelerator": "GPU", "colab": {"gpuType": gpu_type(name) if name else "GPU"}}


def from_notebook_metadata(metadata: dict) -> str | None:
    """A notebook's metadata -> a spec, or None when it stores no runtime type.

    A gpuType matching a GPU here ("A100" in "NVIDIA A100-SXM4-40GB") picks that GPU; another
    gpuType (a notebook written on Colab's T4, opened on an H100 box) asks for any GPU: "cuda".
    Colab's TPU runtimes have no local equivalent: None.
    """
    if not isinstance(metadata, dict):
        return None
    accelerator = metadata.get("accelerator")
    colab = metadata.get("colab") if isinstance(metadata.get("colab"), dict) else {}
    gpu = str(colab.get("gpuType") or "")
    if accelerator is None and not gpu:
        return None
    if str(accelerator).upper() == "NONE" or (accelerator is None and not gpu):
        return "cpu"
    if str(accelerator).upper() != "GPU":
        return None
    if gpu.upper() == "MPS":
        return "mps"
    if gpu:
        gpus, _ = _visible_gpus()
        for number, g in enumerate(gpus):
            if g.name and gpu_type(g.name).upper() == gpu.upper():
                return f"cuda:{number}"
    return "cuda"


def gpu_type(name: str) -> str:
    """Colab's gpuType for an NVIDIA product name: "Tesla T4" -> "T4", "NVIDIA A100-SXM4-40GB" -> "A100"."""
    words = [w for w in re.split(r"[\s_]+", name) if w.upper() not in ("NVIDIA", "TESLA", "GEFORCE", "QUADRO")]
    if not words:
        return name.strip()
    return words[0].split("-")[0] if words[0][:1].isalpha() and any(c.isdigit() for c in words[0]) else " ".join(words)


def kernel_env(spec) -> dict[str, str]:
    """Environment for a kernel started with `spec` selected: it is applied before CUDA starts.

    COLABMAGIC_DEVICE always (the kernel's default device); CUDA_VISIBLE_DEVICES when the spec
    names particular GPUs ("" hides none: the key is left out).
    """
    wanted = parse_spec(spec)
    env = {DEVICE_ENV: str(wanted)}
    if wanted.kind == "cuda" and wanted.indices:
        gpus, _ = _visible_gpus()
        if all(i < len(gpus) for i in wanted.indices) and len(wanted.indices) < len(gpus):
            env[VISIBLE_ENV] = _visible_value(wanted.indices, gpus)
            # that kernel sees only these GPUs, numbered from 0 again
            env[DEVICE_ENV] = str(DeviceSpec("cuda", tuple(range(len(wanted.indices)))))
    return env
