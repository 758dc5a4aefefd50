"""What this process knows about its devices: the GPUs it started seeing, the choice made, what
torch sees, and how to tell whether CUDA has started. One RuntimeState per process (`current()`);
a restarted kernel, or a test, puts a fresh one in place with `install()`.

GPU numbering: `cuda:N` counts the GPUs this kernel could see when it started, in NVML's
(nvidia-smi's) order: the GPUs named in CUDA_VISIBLE_DEVICES then, or all of them. Once a selection
has hidden GPUs, `torch_index` maps those numbers onto torch's own (which start again at 0).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Callable

from ..errors import ConfigError, DeviceError
from ..locale import tr
from .cuda import VISIBLE_ENV, cuda_user
from .specs import DeviceSpec, parse_spec

__all__ = ["DEVICE_ENV", "RuntimeState", "current", "install", "jupyter_kernel_id"]

DEVICE_ENV = "COLABMAGIC_DEVICE"  # a spec applied when this package is first used (set at kernel start)


def jupyter_kernel_id() -> str | None:
    """This Jupyter kernel's id, which it keeps across restarts; None outside a kernel."""
    from ..session import this_kernel_id

    kernel = this_kernel_id()
    return None if kernel.startswith("pid-") else kernel


@dataclass
class RuntimeState:
    # CUDA_VISIBLE_DEVICES as the process got it: GPUs hidden later stay selectable (after a restart)
    visible_at_start: str | None
    cuda_user: Callable[[], str | None] = cuda_user  # which library has started CUDA here (None: none)
    kernel_id: Callable[[], str | None] = jupyter_kernel_id  # None: nothing restarts this process
    spec: DeviceSpec | None = None  # None: not chosen in this process (COLABMAGIC_DEVICE or auto)
    torch_view: tuple[int, ...] | None = None  # GPU numbers torch sees, in torch's order; None: all at start
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def at_start(cls) -> "RuntimeState":
        """The state of a process that has chosen nothing yet, with the environment it has now."""
        return cls(os.environ.get(VISIBLE_ENV))

    def selected_spec(self) -> DeviceSpec:
        """What select() chose, else $COLABMAGIC_DEVICE, else auto."""
        if self.spec is not None:
            return self.spec
        env = os.environ.get(DEVICE_ENV)
        if env:
            try:
                return parse_spec(env)
            except ConfigError:
                return DeviceSpec("auto")  # a bad variable must not break every run: auto, as if unset
        return DeviceSpec("auto")

    def torch_can_see(self, number: int) -> bool:
        return self.torch_view is None or number in self.torch_view

    def torch_index(self, number: int) -> int:
        """torch's index of GPU `number` (this package's numbering), or a DeviceError when hidden."""
        view = self.torch_view
        if view is None:
            return number
        if number not in view:
            shown = ", ".join(f"cuda:{i}" for i in view)
            raise DeviceError(tr("device cuda:{number} is hidden from this kernel (the runtime selection shows "
                                 "only {shown}): %runtime cuda:{number} and a kernel restart bring it back").format(
                number=number, shown=shown))
        return view.index(number)


_current = RuntimeState.at_start()


def current() -> RuntimeState:
    return _current


def install(state: RuntimeState) -> RuntimeState:
    """Make `state` this process's; returns the one it replaces."""
    global _current
    previous, _current = _current, state
    return previous
