"""Device specs: the one parser in colabmagic.

`auto`, `cpu`, `cuda`, `cuda:N`, `gpu:0,1` (several GPUs; `gpu` is `cuda`), `mps`. `%train --device`,
`%%timeit_gpu`, `%runtime` and the JupyterLab toolbar all go through `parse_spec`, so they accept and
refuse the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ConfigError
from ..locale import mark, tr

__all__ = ["SPEC_HELP", "DeviceSpec", "is_selected", "parse_spec"]

SPEC_HELP = mark("auto, cpu, cuda, cuda:N, gpu:0,1 or mps")


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
        raise _unknown(text)
    if isinstance(text, int):
        if text < 0:
            raise ConfigError(tr("Unknown device {device!r}: GPU numbers start at 0").format(device=text))
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
        raise _unknown(text)
    if match.group(1) is None:
        return DeviceSpec("cuda")
    indices = tuple(int(i) for i in match.group(1).split(","))
    if len(set(indices)) != len(indices):
        raise ConfigError(tr("device {device!r} names a GPU twice: list each one once, e.g. gpu:0,1").format(
            device=text))
    return DeviceSpec("cuda", indices)


def _unknown(text) -> ConfigError:
    return ConfigError(tr("Unknown device {device!r}: use {forms}").format(device=text, forms=tr(SPEC_HELP)))


def is_selected(device_spec: str, chosen) -> bool:
    """Whether the device listed as `device_spec` ("cpu", "cuda:1") is one the spec `chosen` names."""
    wanted = parse_spec(chosen)
    if wanted.kind == "cuda":
        return device_spec.startswith("cuda:") and int(device_spec[5:]) in (wanted.indices or (0,))
    return device_spec == wanted.kind
