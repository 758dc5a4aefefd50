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
from ..locale import tr, trn
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
    return trn("device cuda:{index} does not exist: this machine has {count} CUDA device ({have})",
               "device cuda:{index} does not exist: this machine has {count} CUDA devices ({have})", count).format(
        index=index, count=count, have=have)


def _select(state: RuntimeState, wanted: DeviceSpec) -> Selection:
    if wanted.kind in ("auto", "cpu"):
        state.spec = wanted
        said = (tr("{spec}: %train uses the CPU when --device is not given") if wanted.kind == "cpu" else
                tr("{spec}: %train uses the best device here (first GPU, else MPS, else CPU) when --device is not "
                   "given"))
        return Selection(str(wanted), True, False, said.format(spec=wanted))
    if wanted.kind == "mps":
        if not mps_available():
            raise DeviceError(tr("device mps is not available (it needs Apple silicon and a PyTorch built "
                                 "with MPS): use cpu or auto"))
        state.spec = wanted
        return Selection("mps", True, False, tr("mps: %train uses Apple's GPU (MPS) when --device is not given"))
    gpus, problem = visible_gpus(state.visible_at_start)
    if not gpus:
        raise DeviceError(tr("device {device} is not available: no NVIDIA GPU here ({problem}); use cpu or "
                             "auto").format(device=wanted, problem=problem))
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
    default = (tr("{spec}: %train uses {devices} when --device is not given").format(spec=wanted, devices=names)
               if wanted.indices else
               tr("{spec}: %train uses the first GPU when --device is not given").format(spec=wanted))
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
        hidden = tr("; the other GPUs are hidden from this kernel") if view else tr("; every GPU is visible again")
        shown = value or tr("unset")
        return Selection(str(wanted), True, False, f"{default}{hidden} ({VISIBLE_ENV}={shown})")
    # CUDA has read the variable already: this process keeps its view; processes it starts
    # (torchrun workers) get the new one.
    set_visible(value)
    usable = all(state.torch_can_see(i) for i in wanted.indices)
    env = f"{VISIBLE_ENV}={value}" if value is not None else tr("{variable} unset").format(variable=VISIBLE_ENV)
    path = choice_path(state)
    if save_for_restart(wanted):
        kept = tr("the choice is kept and applied by %load_ext colabmagic in the restarted kernel")
    elif path is None:  # nothing restarts this process under the same id
        kept = tr("outside a Jupyter kernel nothing keeps the choice: start Python with {env}").format(env=env)
    else:
        kept = tr("the choice could not be kept in {path}: start the kernel with {env}").format(
            path=path.parent, env=env)
    restart = tr("; {user} has already initialised CUDA in this kernel, so hiding the other GPUs takes a "
                 "restart ({kept})").format(user=user, kept=kept)
    if not usable:
        return Selection(str(wanted), False, True, tr("{spec} is hidden from this kernel by an earlier "
                                                      "selection{restart}").format(spec=wanted, restart=restart))
    return Selection(str(wanted), True, True, default + restart)
