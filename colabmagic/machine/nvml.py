"""The NVML bindings shim: starts NVML (the nvidia-ml-py package, imported as pynvml) once, and
makes every call through one wrapper with one "not available" value, None.

NVML starts on the first reading, never at import: `import pynvml` and nvmlInit cost tens of
milliseconds. A failure to start is remembered for the process, in words a user can act on:
retrying would re-probe the library at every reading. What the GPUs are is colabmagic.machine.gpus'.
"""

from __future__ import annotations

import threading

from ..locale import mark, tr

__all__ = ["Library", "open_library", "shutdown"]

# NVML's reasons for failing to start, in words a user can act on
_INIT_REASONS = {
    "NVMLError_LibraryNotFound": mark("NVML library not found (no NVIDIA driver installed here)"),
    "NVMLError_DriverNotLoaded": mark("NVIDIA driver not loaded (is the kernel module installed and loaded?)"),
    "NVMLError_NoPermission": mark("no permission to talk to the NVIDIA driver (check /dev/nvidia* access)"),
    "NVMLError_LibRmVersionMismatch": mark("NVML library and kernel driver versions differ (reboot after a driver "
                                           "update)"),
    "NVMLError_InsufficientPower": mark("a GPU lacks external power (check its power cables)"),
    "NVMLError_GpuIsLost": mark("the GPU fell off the bus (a reboot is usually needed)"),
    "NVMLError_Unknown": mark("the NVIDIA driver gave an unknown error"),
}
NOT_INSTALLED = mark("nvidia-ml-py is not installed (pip install nvidia-ml-py)")
NO_GPU = mark("the NVIDIA driver is loaded but reports no GPU")
FAILED_TO_START = mark("NVML failed to start: {error}")
FAILED_TO_LIST = mark("NVML could not list the GPUs: {error}")


class Library:
    """NVML once started: the pynvml module, a handle per GPU (NVML's order) and the driver's versions.
    (A plain class: it is made once, and a dataclass costs its first reading ~0.5 ms to define.)"""

    def __init__(self, pynvml, handles: list, driver_version: str | None = None,
                 cuda_driver_version: str | None = None):
        self.pynvml = pynvml
        self.handles = handles
        self.driver_version = driver_version
        self.cuda_driver_version = cuda_driver_version  # newest CUDA the driver supports, e.g. "12.4"
        self.static: dict[int, dict] = {}  # per GPU index: the fields read once (machine.gpus)

    def query(self, fn, *args):
        """One NVML call; None when the GPU does not support it or the driver says no."""
        try:
            return fn(*args)
        except self.pynvml.NVMLError:
            return None


class _State:
    def __init__(self):
        self.lock = threading.Lock()
        self.started = False
        self.library: Library | None = None
        # why no GPU can be read: a message template and its values, worded at each reading in
        # the language of the moment (the failure is remembered for the process, its words are not)
        self.problem: tuple[str, dict] | None = None


_state = _State()


def open_library() -> tuple[Library | None, str | None]:
    """(the started Library, None), or (None, why no GPU can be read here)."""
    if not _state.started:
        with _state.lock:
            if not _state.started:
                _state.library, _state.problem = _start()
                _state.started = True
    if _state.problem is None:
        return _state.library, None
    template, values = _state.problem
    return None, tr(template).format(**values)


def shutdown() -> None:
    """Release NVML; the next reading starts it again (and re-reads the GPU list)."""
    with _state.lock:
        library = _state.library
        if library is not None:
            library.query(library.pynvml.nvmlShutdown)  # a driver gone away leaves nothing to release
        _state.started, _state.library, _state.problem = False, None, None


def _start() -> tuple[Library | None, tuple[str, dict] | None]:
    try:
        import pynvml
    except ImportError:
        return None, (NOT_INSTALLED, {})
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return None, _reason(err, FAILED_TO_START)
    library = Library(pynvml, [])
    try:
        count = pynvml.nvmlDeviceGetCount()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    except pynvml.NVMLError as err:
        library.query(pynvml.nvmlShutdown)
        return None, _reason(err, FAILED_TO_LIST)
    if not handles:
        library.query(pynvml.nvmlShutdown)
        return None, (NO_GPU, {})
    cuda = library.query(pynvml.nvmlSystemGetCudaDriverVersion)
    library.handles = handles
    library.driver_version = library.query(pynvml.nvmlSystemGetDriverVersion)
    library.cuda_driver_version = f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None
    return library, None


def _reason(err: Exception, otherwise: str) -> tuple[str, dict]:
    """NVML's error as a (template, values) problem: its own words where we have them."""
    known = _INIT_REASONS.get(type(err).__name__)
    return (known, {}) if known else (otherwise, {"error": str(err)})
