"""Which device runs things when nobody says: `select(spec)` sets it, `selected()` tells it.

The selection is what `%train` uses when `--device` is not given (and `%%timeit_gpu` times on).
Choosing particular GPUs also hides the others through CUDA_VISIBLE_DEVICES; CUDA reads that
variable once, when it is initialised, so after that the selection still sets the default device,
and hiding waits for a kernel restart (the Selection says so, and restart.py keeps the choice).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import DeviceError
from .cuda import VISIBLE_ENV, set_visible, visible_gpus, visible_value
from .discovery import mps_available
from .restart import choice_path, save_for_restart
from .specs import DeviceSpec, parse_spec
from .state import RuntimeState, current

__all__ = ["Selection", "no_such_gpu", "select", "selected"]


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


def selected() -> str:
    """The default device spec: what select() chose, else $COLABMAGIC_DEVICE, else "auto"."""
    return str(current().selected_spec())


def select(spec) -> Selection:
    """Make `spec` the default device; hide the other GPUs when particular ones are chosen.

    A spec naming no device here (cuda on a machine without GPU, cuda:7 of 2) is a DeviceError
    and changes nothing.
    """
    wanted = parse_spec(spec)
    state = current()
    with state.lock:
        selection = _select(state, wanted)
    if not selection.restart_needed:
        save_for_restart(None)  # an earlier choice waiting for a restart is replaced by this one
    return selection


def no_such_gpu(index: int, count: int) -> str:
    have = ", ".join(f"cuda:{i}" for i in range(count))
    return (f"device cuda:{index} does not exist: this machine has {count} CUDA "
            f"device{'s' if count != 1 else ''} ({have})")


def _select(state: RuntimeState, wanted: DeviceSpec) -> Selection:
    if wanted.kind in ("auto", "cpu"):
        state.spec = wanted
        what = ("the CPU" if wanted.kind == "cpu"
                else "the best device here (first GPU, else MPS, else CPU)")
        return Selection(str(wanted), True, False, f"{wanted}: %train uses {what} when --device is not given")
    if wanted.kind == "mps":
        if not mps_available():
            raise DeviceError("device mps is not available (it needs Apple silicon and a PyTorch built "
                              "with MPS): use cpu or auto")
        state.spec = wanted
        return Selection("mps", True, False, "mps: %train uses Apple's GPU (MPS) when --device is not given")
    gpus, problem = visible_gpus(state.visible_at_start)
    if not gpus:
        raise DeviceError(f"device {wanted} is not available: no NVIDIA GPU here ({problem}); use cpu or auto")
    for index in wanted.indices:
        if index >= len(gpus):
            raise DeviceError(no_such_gpu(index, len(gpus)))
    before, state.spec = state.spec, wanted
    selection = _hide_others(state, wanted, gpus)
    if not selection.applied:
        state.spec = before
    return selection


def _hide_others(state: RuntimeState, wanted: DeviceSpec, gpus) -> Selection:
    names = ", ".join(f"cuda:{i} ({gpus[i].name})" for i in (wanted.indices or (0,)))
    default = f"{wanted}: %train uses {names if wanted.indices else 'the first GPU'} when --device is not given"
    if not wanted.indices:
        return Selection(str(wanted), True, False, default)
    view = wanted.indices if len(wanted.indices) < len(gpus) else None
    if view == state.torch_view:
        return Selection(str(wanted), True, False, default)
    value = state.visible_at_start if view is None else visible_value(view, gpus)
    user = state.cuda_user()
    if user is None:
        set_visible(value)
        state.torch_view = view
        hidden = "; the other GPUs are hidden from this kernel" if view else "; every GPU is visible again"
        return Selection(str(wanted), True, False, f"{default}{hidden} ({VISIBLE_ENV}={value or 'unset'})")
    # CUDA has read the variable already: this process keeps its view; processes it starts
    # (torchrun workers) get the new one.
    set_visible(value)
    usable = all(state.torch_can_see(i) for i in wanted.indices)
    env = f"{VISIBLE_ENV}={value}" if value is not None else f"{VISIBLE_ENV} unset"
    path = choice_path(state)
    if save_for_restart(wanted):
        kept = "the choice is kept and applied by %load_ext colabmagic in the restarted kernel"
    elif path is None:  # nothing restarts this process under the same id
        kept = f"outside a Jupyter kernel nothing keeps the choice: start Python with {env}"
    else:
        kept = f"the choice could not be kept in {path.parent}: start the kernel with {env}"
    restart = (f"; {user} has already initialised CUDA in this kernel, so hiding the other GPUs takes a "
               f"restart ({kept})")
    if not usable:
        return Selection(str(wanted), False, True,
                         f"{wanted} is hidden from this kernel by an earlier selection{restart}")
    return Selection(str(wanted), True, True, default + restart)
