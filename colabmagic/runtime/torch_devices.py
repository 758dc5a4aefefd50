"""A device spec as the torch.device that runs it (the only part of the package that imports torch),
and the one wording of "this device cannot be used here"."""

from __future__ import annotations

from importlib.util import find_spec

from ..errors import DeviceError
from ..locale import tr
from .cuda import same_gpu, visible_gpus
from .selection import no_such_gpu
from .specs import parse_spec
from .state import current

__all__ = ["cuda_missing", "torch_device", "unavailable"]


def torch_device(spec="auto"):
    """A spec -> a torch.device that exists on this machine (imports torch).

    `auto` means the selection (select(), $COLABMAGIC_DEVICE); when that is auto too: the first
    CUDA GPU, then Apple's MPS, then the CPU. Several GPUs (`gpu:0,1`) mean the first of them for
    one process.
    """
    import torch

    state = current()
    wanted = parse_spec(spec)
    if wanted.kind == "auto":
        wanted = state.selected_spec()
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
            raise DeviceError(tr("device mps is not available (it needs Apple silicon and a PyTorch built "
                                 "with MPS): use device cpu or auto"))
        return torch.device("mps")
    why = cuda_missing()
    if why is not None:
        raise unavailable(wanted, why)
    if not wanted.indices:
        chosen = state.selected_spec()
        if chosen.kind == "cuda" and chosen.indices:
            wanted = chosen
        else:
            return torch.device("cuda", torch.cuda.current_device())
    number = wanted.indices[0]
    index = state.torch_index(number)
    count = torch.cuda.device_count()
    if index >= count:
        raise DeviceError(no_such_gpu(number, count))
    return torch.device("cuda", _checked_index(torch, number, index, count))


def _checked_index(torch, number: int, index: int, count: int) -> int:
    """torch's index of GPU `number` (NVML's numbering, which %runtime and %gpu_info show), checked
    by UUID: CUDA numbers GPUs fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID, and a CUDA driver
    started before a selection keeps the GPUs it saw then. Unchecked when NVML cannot tell."""
    gpus, _ = visible_gpus(current().visible_at_start)
    if number >= len(gpus) or not gpus[number].uuid:
        return index
    wanted = gpus[number].uuid
    uuids = [_torch_uuid(torch, i) for i in range(count)]
    if same_gpu(wanted, uuids[index]) or not all(uuids):
        return index
    matches = [i for i, uuid in enumerate(uuids) if same_gpu(wanted, uuid)]
    if not matches:
        if not any(same_gpu(g.uuid, uuid) for g in gpus for uuid in uuids):
            return index  # torch words its UUIDs otherwise here (a driver or MIG quirk): nothing to compare
        raise DeviceError(tr("device cuda:{number} ({name}) is hidden from this kernel's CUDA, which started "
                             "before the selection: restart the kernel (%runtime cuda:{number} is kept)").format(
            number=number, name=gpus[number].name))
    return matches[0]


def _torch_uuid(torch, index: int) -> str | None:
    uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
    return None if uuid is None else str(uuid)


def cuda_missing() -> str | None:
    """Why torch cannot use CUDA here, in the words every device error uses; None when it can.
    Imports torch only when it is installed."""
    if find_spec("torch") is None:
        return tr("torch is not installed")
    import torch

    if torch.cuda.is_available():
        return None
    return tr("this PyTorch is built without CUDA") if torch.version.cuda is None else tr("no CUDA GPU is visible")


def unavailable(wanted, why: str) -> DeviceError:
    """The one wording of "this device cannot be used here" for a spec (%train, %%timeit_gpu)."""
    return DeviceError(tr("device {device} is not available ({why}): use device cpu or auto").format(
        device=parse_spec(wanted), why=why))


def _torch_mps(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())
