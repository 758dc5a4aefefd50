"""The optimizer and learning-rate schedule of a run, and the eager optimizer classes they use.

`make_optimizer` and `make_scheduler` build what the step loop steps. In eager mode the optimizer
is torch.optim's SGD or AdamW without the `import torch._dynamo` their first use costs (1-2 s):

Every public method of `torch.optim.Optimizer` (add_param_group, which the constructor calls,
zero_grad, state_dict, load_state_dict, and step through its no-grad wrapper) is wrapped so that
torch.compile does not trace into it; the wrapper imports torch._dynamo on its first call, which in
a fresh kernel is 1-2 s of a 4-5 s first `%train`. Outside torch.compile those wrappers do nothing
else (dynamo's eval-frame hook is off, graph breaks are no-ops), so the classes here call the very
same method bodies directly: the same kernels (fused included), the same state, the same
state_dict format, instances of the torch classes (schedulers, GradScaler and checkpoints see no
difference). The training loop uses torch's own classes whenever the model is compiled.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn


def _body(method):
    """The undecorated function under torch's wrappers (functools.wraps keeps the chain)."""
    return inspect.unwrap(method)


class _WithoutDynamoWrappers:
    """Mixin: Optimizer's methods minus their dynamo-disable wrappers (eager mode only)."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        _body(torch.optim.Optimizer.add_param_group)(self, param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        _body(torch.optim.Optimizer.zero_grad)(self, set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return _body(torch.optim.Optimizer.state_dict)(self)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        _body(torch.optim.Optimizer.load_state_dict)(self, state_dict)

    def step(self, closure=None):
        # torch's wrapper: grad mode = defaults["differentiable"] (False here) around the body
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return self._step_body(self, closure)


class EagerSGD(_WithoutDynamoWrappers, torch.optim.SGD):
    _step_body = staticmethod(_body(torch.optim.SGD.step))


class EagerAdamW(_WithoutDynamoWrappers, torch.optim.AdamW):
    _step_body = staticmethod(_body(torch.optim.AdamW.step))


def make_optimizer(model: nn.Module, cfg) -> torch.optim.Optimizer:
    """Weight decay on weight matrices and kernels only: decaying biases and norm scales only hurts."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": params}]
    if cfg.weight_decay:
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    # fused: one kernel per parameter group instead of a Python loop over tensors (~0.1 ms/step on a CPU)
    devices = {p.device.type for p in params}
    fused = {"fused": True} if devices <= {"cpu", "cuda"} and all(p.is_floating_point() for p in params) else {}
    # eager: the same classes minus the 1-2 s `import torch._dynamo` of their first call (see above);
    # a compiled model keeps torch's own, so that dynamo never traces into the optimizer
    adamw, sgd = (torch.optim.AdamW, torch.optim.SGD) if cfg.compile else (EagerAdamW, EagerSGD)
    if cfg.optimizer == "adamw":
        return adamw(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999), weight_decay=0.0, **fused)
    return sgd(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0, weight_decay=0.0, **fused)


def make_scheduler(optimizer: torch.optim.Optimizer, cfg, total_steps: int):
    """Stepped once per batch; None for a constant learning rate."""
    if cfg.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=max(total_steps, 1),
                                                   cycle_momentum=False)
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None
