"""The static view: a logdir's scalars read with TensorBoard's own event reader (EventMultiplexer),
drawn with %train's chart, and re-read on a background thread while runs write."""

from __future__ import annotations

import html
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import require
from ..locale import tr, trn
from .manager import DEFAULT_LOGDIR, resolve_logdir

IDLE_STOP_SECONDS = 300.0    # s without new events after which a --watch refresh ends by itself
MAX_RUNS = 12                # runs drawn inline (the most recently written ones)


def metric_name(tag: str) -> str:
    """The inverse of train/tensorboard_writer.tag(): "loss/train" -> "train_loss", "lr" -> "lr"."""
    from ..train.tensorboard_writer import TAGS

    for name, written in TAGS.items():
        if written == tag:
            return name
    measure, slash, split = tag.partition("/")
    if slash and "/" not in split:
        return f"{split.lower()}_{measure.lower()}"  # also "Loss/train" as the PyTorch tutorial writes it
    return tag


@dataclass
class ScalarRun:
    """One run's scalars as %train's history: one row per step, metric names as %train uses them."""

    name: str
    steps: list[int]
    history: list[dict[str, float]]
    last_write: float = 0.0     # wall time of its newest event

    def chart(self):
        from ..train.chart import TrainingChart

        return TrainingChart(history=self.history, title=self.name)

    def extra(self) -> dict[str, float]:
        """The newest value of each metric the chart does not draw (lr, epoch time, custom tags)."""
        drawn = ("_loss", "_accuracy")
        last: dict[str, float] = {}
        for row in self.history:
            last.update({k: v for k, v in row.items() if not k.endswith(drawn)})
        return last


@dataclass
class ScalarBoard:
    """The scalar curves of a logdir drawn inline with %train's chart (no TensorBoard process)."""

    logdir: str
    runs: list[ScalarRun]
    hidden: int = 0             # older runs not drawn (MAX_RUNS)
    read_at: float = field(default_factory=time.time)
    note: str = ""              # why this view was chosen, shown above the charts
    watching: bool = False

    def run(self, name: str) -> ScalarRun:
        return next(r for r in self.runs if r.name == name)

    def headline(self) -> str:
        runs = trn("{count} run", "{count} runs", len(self.runs)).format(count=len(self.runs))
        more = tr(" (+{count} older not shown)").format(count=self.hidden) if self.hidden else ""
        clock = time.strftime("%H:%M:%S", time.localtime(self.read_at))
        live = tr(", refreshing while runs write") if self.watching else ""
        return tr("TensorBoard scalars in {logdir}: {runs}{older}, read {clock}{refreshing}").format(
            logdir=self.logdir, runs=runs, older=more, clock=clock, refreshing=live)

    def _repr_html_(self) -> str:
        parts = [f"<div style='font:12px sans-serif;opacity:.75'>{html.escape(self.note)}</div>" if self.note else "",
                 f"<div style='font:12px sans-serif;margin-bottom:4px'>{html.escape(self.headline())}</div>"]
        if not self.runs:
            parts.append("<div>" + html.escape(tr("No scalars yet.")) + "</div>")
        for run in self.runs:
            parts.append(run.chart()._repr_html_())
            extra = run.extra()
            if extra:
                cells = " · ".join(f"{html.escape(k)} {v:.4g}" for k, v in extra.items())
                parts.append(f"<div style='font:11px sans-serif;opacity:.75;margin:2px 0 10px'>{cells}</div>")
        return "<div>" + "".join(parts) + "</div>"

    def __str__(self) -> str:
        lines = [self.note] if self.note else []
        lines.append(self.headline())
        lines += [str(run.chart()) for run in self.runs] or [tr("No scalars yet.")]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


class ScalarReader:
    """Reads a logdir's scalars with TensorBoard's own reader (EventMultiplexer), incrementally:
    each read() loads only the events written since the last one, and picks up new runs."""

    def __init__(self, logdir: str | os.PathLike = DEFAULT_LOGDIR, *, wait: bool = False) -> None:
        require("tensorboard", "train")
        from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer

        self.logdir = resolve_logdir(logdir, wait=wait)
        self.shown = os.fspath(logdir)
        # scalars=0 keeps every event (the default samples 10,000 per tag)
        self._mux = EventMultiplexer(size_guidance={"scalars": 0}, purge_orphaned_data=True)
        self._signature: tuple = ()

    def read(self) -> ScalarBoard:
        if os.path.isdir(self.logdir):
            self._mux.AddRunsFromDirectory(self.logdir)
            self._mux.Reload()
        runs = []
        for name, tags in self._mux.Runs().items():
            scalars = {tag: self._mux.Scalars(name, tag) for tag in tags.get("scalars", [])}
            if scalars:
                runs.append(_as_run(name, scalars))
        runs.sort(key=lambda r: r.last_write, reverse=True)
        shown = sorted(runs[:MAX_RUNS], key=lambda r: r.name)
        self._signature = tuple((r.name, len(r.steps), r.last_write) for r in runs)
        return ScalarBoard(self.shown, shown, hidden=len(runs) - len(shown))

    @property
    def signature(self) -> tuple:
        """Changes whenever a read found new events or runs."""
        return self._signature


def _as_run(name: str, scalars: dict[str, list]) -> ScalarRun:
    rows: dict[int, dict[str, float]] = {}
    last_write = 0.0
    for tag, events in scalars.items():
        metric = metric_name(tag)
        for event in events:  # in file order: a step written twice keeps its newest value
            rows.setdefault(event.step, {})[metric] = float(event.value)
            last_write = max(last_write, event.wall_time)
    steps = sorted(rows)
    return ScalarRun(name=name, steps=steps, history=[rows[s] for s in steps], last_write=last_write)


def read_scalars(logdir: str | os.PathLike = DEFAULT_LOGDIR) -> ScalarBoard:
    return ScalarReader(logdir).read()


class ScalarWatcher:
    """Re-reads a logdir every `every` seconds on a daemon thread and calls on_change(board) when
    something new was written; it ends by itself after `idle_stop` seconds without news."""

    def __init__(self, reader: ScalarReader, every: float, on_change: Callable[[ScalarBoard], None], *,
                 idle_stop: float | None = None, on_error: Callable[[BaseException], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.reader, self.every, self.on_change, self.on_error = reader, every, on_change, on_error
        self.idle_stop = idle_stop if idle_stop is not None else max(IDLE_STOP_SECONDS, 10 * every)
        self.clock = clock
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="colabmagic-tensorboard-watch", daemon=True)

    def start(self) -> "ScalarWatcher":
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        seen, news_at = self.reader.signature, self.clock()
        while not self._stop.wait(self.every):
            try:
                board = self.reader.read()
            except Exception as err:  # shown where the user looks (the output), not lost on a thread
                if self.on_error is not None:
                    self.on_error(err)
                return
            if self.reader.signature != seen:
                seen, news_at = self.reader.signature, self.clock()
                board.watching = True
                self.on_change(board)
            elif self.clock() - news_at >= self.idle_stop:
                board.watching = False
                self.on_change(board)  # drop the "refreshing" mark: the runs stopped writing
                return
