"""A device choice that waits for a kernel restart: the record one kernel process writes and the
restarted one reads.

A kernel keeps its id when Jupyter restarts it. A choice that needed a restart (CUDA had already
read CUDA_VISIBLE_DEVICES) is written to <state dir>/colabmagic-runtime-<kernel id>.json with the
environment it needs; %load_ext colabmagic in the restarted kernel applies it, before CUDA starts
if it comes first, and removes the file. This module owns both sides of the format (DESIGN §3):
files written before records carried a kind and a version ({"spec", "env"}) read as version 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..files import NewerRecord, read_record, state_dir, write_record
from .cuda import VISIBLE_ENV
from .metadata import kernel_env
from .specs import parse_spec
from .state import RuntimeState, current

__all__ = ["CHOICE_KIND", "CHOICE_VERSION", "RestartChoice", "apply_saved", "choice_path", "save_for_restart"]

CHOICE_KIND = "colabmagic-runtime-choice"
CHOICE_VERSION = 1


@dataclass
class RestartChoice:
    spec: str  # the canonical spec chosen, as %runtime shows it
    env: dict[str, str]  # what the restarted kernel sets (kernel_env)


def choice_path(state: RuntimeState | None = None) -> Path | None:
    """Where this kernel's waiting choice lives; None outside a Jupyter kernel (nothing restarts it
    under the same id)."""
    kernel = (state or current()).kernel_id()
    return None if kernel is None else state_dir() / f"colabmagic-runtime-{kernel}.json"


def save_for_restart(spec) -> bool:
    """Keep `spec` for this kernel's next start (None: forget a kept one); whether it was kept."""
    try:
        path = choice_path()
        if path is None:
            return False
        if spec is None:
            path.unlink(missing_ok=True)
            return False
        choice = RestartChoice(str(parse_spec(spec)), kernel_env(spec))
        path.parent.mkdir(parents=True, exist_ok=True)
        write_record(path, CHOICE_KIND, CHOICE_VERSION, choice)
        return True
    except OSError:
        return False  # an unwritable state folder: the restart simply starts without the choice


def read_choice(path: Path) -> RestartChoice | None:
    """The choice at `path`; None when there is none or it is unreadable. NewerRecord when a newer
    colabmagic wrote it."""
    choice = read_record(path, CHOICE_KIND, CHOICE_VERSION, RestartChoice)
    if choice is None or not isinstance(choice.spec, str) or not isinstance(choice.env, dict):
        return None
    return RestartChoice(choice.spec, {str(k): str(v) for k, v in choice.env.items()})


def apply_saved() -> str | None:
    """Apply the choice kept for this kernel by save_for_restart, as if the kernel had started
    with it; returns its spec. Only before CUDA is initialised; the file is used once. A choice
    written by a newer colabmagic is left for it, unread."""
    state = current()
    if state.cuda_user() is not None:
        return None  # too late to hide GPUs here: keep the choice for the next start
    try:
        path = choice_path(state)
        if path is None:
            return None
        choice = read_choice(path)
        if choice is None:
            return None
        path.unlink(missing_ok=True)
    except (OSError, NewerRecord):
        return None
    os.environ.update(choice.env)
    with state.lock:
        if VISIBLE_ENV in choice.env:
            state.visible_at_start = choice.env[VISIBLE_ENV]  # this kernel "started" seeing only those GPUs
        state.spec, state.torch_view = None, None
    return choice.spec
