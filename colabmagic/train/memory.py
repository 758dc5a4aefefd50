"""Will the run fit? An estimate of its memory before the first step, and a refusal that says the fix.

The estimate adds what the loop keeps resident: the dataset splits on the device (images as
normalised float32, as DeviceData stores them), the parameters, their gradients and the
optimizer's state, and one batch's activations (measured by a forward pass over two examples with
hooks, scaled to the batch; backward keeps about as much again). It is an estimate (allocator
slack, cuDNN workspaces), so the run is refused only when it exceeds the free memory outright.

A template's model is estimated from its skeleton (built on the meta device) and built for real
only once the run fits: a refused run never allocates, nor spends seconds initialising, its weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..errors import ConfigError, Message, Option
from ..locale import mark, tr
from ..units import size

RAM = mark("RAM")  # where a CPU run's memory is (else the GPU's name)


@dataclass
class MemoryEstimate:
    data_bytes: int
    parameter_bytes: int        # parameters + gradients + optimizer state
    activation_bytes: int       # one training batch, forward and backward
    free_bytes: int | None      # free on the device when the run was planned
    where: str                  # "RAM" or the GPU's name

    @property
    def total_bytes(self) -> int:
        return self.data_bytes + self.parameter_bytes + self.activation_bytes

    def __str__(self) -> str:
        values = dict(total=size(self.total_bytes), where=tr(self.where), data=size(self.data_bytes),
                      model=size(self.parameter_bytes), batch=size(self.activation_bytes))
        if self.free_bytes is None:
            return tr("~{total} {where} (data {data}, model+optimizer {model}, batch {batch})").format(**values)
        return tr("~{total} {where} of {free} free (data {data}, model+optimizer {model}, batch {batch})").format(
            free=size(self.free_bytes), **values)


def skeleton(build, spec) -> nn.Module:
    """The model `build(spec)` makes, on the meta device: its parameters have shapes and no storage,
    so estimating a model of many GiB costs no memory (and no time initialising it)."""
    with torch.device("meta"):
        return build(spec)


UPFRONT_SHARE = 0.4  # images are normalised to float32 up front while that fits this share of the memory


def images_stay_raw(dataset, device: torch.device) -> bool:
    """Whether a uint8 image dataset stays uint8 on `device` (each batch normalised as it is taken)
    rather than being normalised to float32 up front, which costs 4x the bytes: the one rule that
    the training data (loop.DeviceData) and the memory estimate both follow."""
    if dataset.kind != "image" or dataset.x_train.dtype != torch.uint8:
        return False
    float_bytes = sum(x.numel() * 4 for x in (dataset.x_train, dataset.x_val, dataset.x_test) if x is not None)
    return float_bytes > UPFRONT_SHARE * memory_budget(device)


def memory_budget(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    import psutil

    return psutil.virtual_memory().available


def estimate(model: nn.Module, dataset, batch_size: int, optimizer: str, device: torch.device) -> MemoryEstimate:
    """The run's memory; `model` may be a skeleton() (then the estimate allocates nothing model-sized)."""
    # images: float32 when normalised up front, else the uint8 they stay as (images_stay_raw)
    per_image_value = 1 if images_stay_raw(dataset, device) else 4
    data = sum(getattr(dataset, s).numel() * (per_image_value if dataset.kind == "image"
                                             else getattr(dataset, s).element_size())
               for s in ("x_train", "x_val", "x_test") if getattr(dataset, s) is not None)
    data += sum(getattr(dataset, s).numel() * 8 for s in ("y_train", "y_val", "y_test") if getattr(dataset, s) is not None)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    states = 2 if optimizer == "adamw" else 1  # adamw: two moments; sgd: the momentum buffer
    activations = 2 * _activation_bytes_per_example(model, dataset) * min(batch_size, len(dataset.y_train))
    return MemoryEstimate(data, params * (2 + states), activations, free_bytes(device), _where(device))


def check(estimate_: MemoryEstimate) -> None:
    """ConfigError when the estimate exceeds the free memory, naming the options that shrink it."""
    if estimate_.free_bytes is None or estimate_.total_bytes <= estimate_.free_bytes:
        return
    fixes: list[Message] = []
    if estimate_.activation_bytes > estimate_.free_bytes / 4:
        fixes.append(Message.of(tr("a smaller {batch_size}"), batch_size=Option("batch_size")))
    if estimate_.data_bytes > estimate_.free_bytes / 4 or estimate_.parameter_bytes > estimate_.free_bytes / 4:
        fixes.append(Message.of(tr("smaller images ({image_size})"), image_size=Option("image_size")))
    fixes.append(Message(tr("a machine with more memory")) if estimate_.where == RAM else Message(Option("device", "cpu")))
    raise ConfigError(Message.of(tr("This run needs {estimate} and would not fit: try {fixes}"),
                              estimate=estimate_, fixes=Message.joined(fixes, tr(", or "))))


REAL_PROBE_VALUES = 3 * 64 * 64  # inputs up to a 64x64 colour image are probed with a real forward pass
REAL_PROBE_SKELETON_BYTES = 64 * 2**20  # ... and a skeleton gets real (uninitialised) storage for it up to this size


def _activation_bytes_per_example(model: nn.Module, dataset) -> int:
    """Bytes of every module's outputs for one example, from a forward pass over two examples."""
    sample = dataset.x_train[:2]
    if dataset.kind == "image":
        sample = sample.float()
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * 4  # autocast halves this on a GPU; fp32 is the safe side

    # small inputs: two real examples (milliseconds); large ones on the meta device, which computes
    # nothing but imports torch._dynamo (~1 s), a price worth paying only where a real pass would not be
    real = sample[0].numel() <= REAL_PROBE_VALUES
    on_meta = any(p.is_meta for p in model.parameters())
    if on_meta and real and sum(p.numel() * p.element_size() for p in model.parameters()) > REAL_PROBE_SKELETON_BYTES:
        real = False  # a big skeleton stays on the meta device: giving it storage is what it avoids
    if on_meta:
        model = _probe_copy(model, real)
    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    was_training = model.training
    model.eval()  # batch norm statistics must not move
    try:
        with torch.no_grad():
            try:
                if real:
                    model(sample)
                elif on_meta:
                    model(sample.to("meta"))
                else:
                    meta = {k: torch.empty_like(v, device="meta") for k, v in
                            [*model.named_parameters(), *model.named_buffers()]}
                    torch.func.functional_call(model, meta, (sample.to("meta"),))
            except Exception:  # noqa: BLE001 - an operator without a meta kernel: measure for real
                if real:
                    raise
                total = 0
                if on_meta:  # none of our templates: all run on the meta device (tests/test_train_health.py)
                    model = model.to_empty(device="cpu")
                model(sample)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total // max(len(sample), 1)


def _probe_copy(skeleton: nn.Module, real: bool) -> nn.Module:
    """A copy of a skeleton to probe: with real but uninitialised storage for a real pass (only the
    outputs' sizes are read, so whatever the weights hold does not matter), else on the meta device."""
    import copy

    probe = copy.deepcopy(skeleton)  # a meta module copies without copying any data
    return probe.to_empty(device="cpu") if real else probe


def free_bytes(device: torch.device) -> int | None:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        # what PyTorch holds in its cache but no tensor uses is ours to reuse: the driver counts it
        # as used, which refused a second %train in a kernel that fitted
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + max(cached, 0))
    if device.type == "cpu":
        import psutil

        return int(psutil.virtual_memory().available)
    return None  # mps shares RAM with no reliable free figure


def _where(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return RAM if device.type == "cpu" else str(device)


def reset_peak_rss() -> None:
    """Restart the process's peak-RSS counter (Linux VmHWM), so a run reports its own peak and not
    that of an earlier, larger run in the same kernel. Elsewhere the peak stays the process's."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def run_peak_rss() -> int:
    """Peak resident memory since the last reset_peak_rss() (on Linux), in bytes."""
    from .device import peak_rss

    return peak_rss()
