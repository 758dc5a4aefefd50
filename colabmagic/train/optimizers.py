"""torch.optim's SGD and AdamW without the `import torch._dynamo` their first use costs (1-2 s).

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
