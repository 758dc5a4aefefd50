"""A run's callback events as a stream between processes (events.jsonl): rank 0 of a `--devices N`
run writes them, the notebook replays them to its own callbacks as they come.

The file starts with a header record (the format version); then one `{"hook", "payload"}` JSON
line per callback call, appended and flushed as it happens. A reader keeps a half-written last
line for later, ignores hooks it does not know (a newer minor version added them) and refuses a
newer major version in one line.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...files import FORMAT, VERSION, NewerRecord
from ...locale import tr
from ..callbacks import Callback, Progress, RunInfo

EVENTS_RECORD, EVENTS_VERSION = "colabmagic-train-events", 1
HOOKS = ("on_train_begin", "on_progress", "on_epoch_end", "on_checkpoint")


def _payload(hook: str, args: tuple) -> Any:
    if hook == "on_epoch_end":
        epoch, metrics = args
        return {"epoch": epoch, "metrics": metrics}
    (value,) = args
    return asdict(value) if hook in ("on_train_begin", "on_progress") else value


def _arguments(hook: str, payload: Any) -> tuple:
    if hook == "on_train_begin":
        return (RunInfo(**_known(RunInfo, payload)),)
    if hook == "on_progress":
        return (Progress(**_known(Progress, payload)),)
    if hook == "on_epoch_end":
        return (payload["epoch"], payload["metrics"])
    return (payload,)


def _known(cls, values: dict[str, Any]) -> dict[str, Any]:
    names = cls.__dataclass_fields__
    return {k: v for k, v in values.items() if k in names}


class EventLog(Callback):
    """The writing side: appends each hook's arguments as one JSON line, flushed at once."""

    def __init__(self, path: str | Path):
        self.file = open(path, "a", encoding="utf-8")
        if self.file.tell() == 0:
            # when it began: a reader that follows the file by offset tells a new stream of that name apart
            self.file.write(json.dumps({FORMAT: EVENTS_RECORD, VERSION: EVENTS_VERSION, "started": time.time()}) + "\n")

    def write(self, hook: str, *args) -> None:
        self.file.write(json.dumps({"hook": hook, "payload": _payload(hook, args)}) + "\n")
        self.file.flush()

    def on_train_begin(self, run: RunInfo) -> None:
        self.write("on_train_begin", run)

    def on_progress(self, progress: Progress) -> None:
        self.write("on_progress", progress)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.write("on_epoch_end", epoch, metrics)

    def on_checkpoint(self, path: str) -> None:
        self.write("on_checkpoint", path)

    def on_train_end(self, result: Any) -> None:
        self.file.close()  # the reader calls on_train_end itself, with the result it rebuilds


class EventReplay:
    """The reading side: reads the event file as it grows and calls the same hooks here."""

    def __init__(self, path: Path, callbacks: list[Callback]):
        self.path, self.callbacks = path, callbacks
        self.offset = 0
        self.buffer = b""

    def read(self) -> None:
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                chunk = file.read()
        except FileNotFoundError:
            return
        self.offset += len(chunk)
        *lines, self.buffer = (self.buffer + chunk).split(b"\n")  # the last piece may be half written
        for line in lines:
            if line.strip():
                self._replay(json.loads(line))

    def _replay(self, event: dict[str, Any]) -> None:
        if FORMAT in event:  # the header: an older writer's file has none (version 1)
            if event.get(VERSION, 1) > EVENTS_VERSION:
                raise NewerRecord(tr("a run's events of version {version}, written by a newer colabmagic (this one "
                                     "reads version {supported} and older): upgrade colabmagic here").format(
                    version=event[VERSION], supported=EVENTS_VERSION))
            return
        hook = event.get("hook")
        if hook not in HOOKS:
            return
        args = _arguments(hook, event["payload"])
        for callback in self.callbacks:
            getattr(callback, hook)(*args)
