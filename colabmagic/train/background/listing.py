"""`%train --jobs`: the background runs on this machine, with their progress read from their events."""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass
from pathlib import Path

from ...locale import mark, tr
from ..progress import format_seconds
from ...columns import padded, width as text_columns
from .records import DEAD, DIVERGED, FAILED, FINISHED, RUNNING, STARTING, STOPPED, JobFolder, job_folders

KEEP_ENDED_SECONDS = 7 * 24 * 3600  # an ended run's job folder is listed for a week, then removed
BEST_OF = ("val_accuracy", "test_accuracy", "train_accuracy")  # the metric "best" means, first found
# the table's words, translated where shown (a row keeps its state as records.py spells it)
HEADER = (mark("name"), mark("state"), mark("epoch"), mark("steps"), mark("best"), mark("elapsed"), mark("ETA"),
          mark("device"), mark("pid"))
STATE_WORDS = {STARTING: mark("starting"), RUNNING: mark("running"), FINISHED: mark("finished"),
               STOPPED: mark("stopped"), DIVERGED: mark("diverged"), FAILED: mark("failed"), DEAD: mark("dead")}


@dataclass
class JobRow:
    name: str
    state: str
    epoch: str          # "3/10"
    steps: int          # global steps done
    best: str           # "val_accuracy 0.9812"
    elapsed: float      # seconds
    eta: float | None   # seconds, while running
    device: str
    pid: int
    run_dir: str
    line: str           # the %train line it started from ("" from Python)
    resume: dict | None  # a stopped run's resume options

    def summary(self) -> dict:
        """What the JupyterLab toolbar shows of a running run (plain JSON)."""
        done, total = (int(x) for x in self.epoch.split("/")) if "/" in self.epoch else (0, 0)
        return {"name": self.name, "state": self.state, "epoch": done, "epochs": total, "steps": self.steps,
                "best": self.best, "elapsed": self.elapsed, "eta": self.eta, "device": self.device}

    @property
    def resumable(self) -> bool:
        return self.state in (STOPPED, DEAD) and bool(self.run_dir) and any(
            (Path(self.run_dir) / "checkpoints").glob("*.pt"))


@dataclass
class JobsTable:
    rows: list[JobRow]

    def running(self) -> list[JobRow]:
        return [row for row in self.rows if row.state in (STARTING, RUNNING)]

    def __str__(self) -> str:
        if not self.rows:
            return tr("No background runs on this machine (start one with %train ... --background).")
        header = tuple(tr(word) for word in HEADER)
        lines = [header] + [(r.name or tr("(starting)"), _state(r.state), r.epoch, str(r.steps), r.best,
                             format_seconds(r.elapsed), format_seconds(r.eta) if r.eta is not None else "", r.device,
                             str(r.pid)) for r in self.rows]
        widths = [max(text_columns(line[i]) for line in lines) for i in range(len(header))]
        text = ["  ".join(padded(cell, width) for cell, width in zip(line, widths)).rstrip() for line in lines]
        for row in self.rows:
            if row.state == DEAD:
                text.append(tr("{name}: its process died; {hint}").format(name=row.name, hint=_resume_hint(row)))
        return "\n".join(text)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<p>{html.escape(str(self))}</p>"
        cells = "".join(f"<th>{html.escape(tr(h))}</th>" for h in HEADER)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                r.name, _state(r.state), r.epoch, r.steps, r.best, format_seconds(r.elapsed),
                format_seconds(r.eta) if r.eta is not None else "", r.device, r.pid)) + "</tr>"
            for r in self.rows)
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _state(state: str) -> str:
    return tr(STATE_WORDS.get(state, state))


def _resume_hint(row: JobRow) -> str:
    if not row.resumable:
        return tr("no checkpoint was written: start it again")
    if row.line:
        from ..resume import resume_line

        return tr("resume with: {line}").format(line=resume_line(row.line, {"name": row.name}))
    return tr("resume with: {line}").format(line=f"train(..., name={row.name!r}, resume=True, background=True)")


def jobs(now: float | None = None, *, prune: bool = True) -> JobsTable:
    """Every background run on this machine, oldest first; with PRUNE, ended ones older than a week
    are removed (the server extension only reads)."""
    now = time.time() if now is None else now
    rows = []
    for folder in job_folders():
        row = _row(folder, now, prune)
        if row is None:
            continue
        rows.append(row)
    return JobsTable(rows)


def running_jobs() -> list[dict]:
    """The running runs as plain JSON, for the JupyterLab toolbar (nothing pruned: it only reads)."""
    return [row.summary() for row in jobs(prune=False).running()]


def _row(folder: JobFolder, now: float, prune: bool) -> JobRow | None:
    state = folder.state()
    job, outcome, spec = folder.job(), folder.outcome(), folder.spec()
    ended_long_ago = (outcome is not None and now - outcome.ended_at > KEEP_ENDED_SECONDS) or (
        state == DEAD and now - folder.path.stat().st_mtime > KEEP_ENDED_SECONDS)
    if ended_long_ago:
        if prune:
            folder.remove()
        return None
    started = job.started_at if job else folder.path.stat().st_mtime
    ended = outcome.ended_at if outcome else (None if state in (STARTING, RUNNING) else _last_write(folder))
    progress, best = _progress(Path(job.run_dir) / "events.jsonl") if job and job.run_dir else (None, "")
    epochs = job.epochs if job else 0
    epoch = f"{progress['epoch'] + 1}/{epochs}" if progress else (f"0/{epochs}" if epochs else "")
    steps = progress["global_step"] if progress else 0
    elapsed = (ended or now) - started
    eta = None
    if state == RUNNING and progress and job.steps_per_epoch:
        total = epochs * job.steps_per_epoch
        done = steps - job.start_epoch * job.steps_per_epoch
        if done > 0 and progress["elapsed_seconds"] > 0:
            eta = max(0.0, (total - steps) * progress["elapsed_seconds"] / done)
    if state == FINISHED and outcome and not best:
        best = _best(outcome.metrics)
    return JobRow(job.name if job else "", state, epoch, steps, best, elapsed, eta, job.device if job else "",
                  job.pid if job else 0, job.run_dir if job else "", spec.line if spec else "",
                  outcome.resume if outcome else None)


def _last_write(folder: JobFolder) -> float:
    job = folder.job()
    paths = [folder.path] + ([Path(job.run_dir) / "events.jsonl"] if job and job.run_dir else [])
    return max((p.stat().st_mtime for p in paths if p.exists()), default=time.time())


# events file -> (its first line, bytes read, the last progress event, the best value of each metric):
# the JupyterLab badge asks every few seconds while a run appends for hours, so each look reads only
# what was added since the last one. The first line (the header, with the stream's start) tells a new
# run of the same name apart, which a reused inode would not.
_read: dict[Path, tuple[bytes, int, dict | None, dict[str, float]]] = {}


def _progress(events: Path) -> tuple[dict | None, str]:
    """The last progress event and the best epoch metric, read from the event stream."""
    try:
        file = open(events, "rb")
    except OSError:
        return None, ""
    with file:
        first = file.readline()
        head, offset, progress, best = _read.get(events, (first, 0, None, {}))
        if head != first:  # another run of that name wrote it anew
            offset, progress, best = 0, None, {}
        file.seek(offset)
        added = file.read()
    whole = added.rfind(b"\n") + 1  # a last line being written is read next time
    for line in added[:whole].splitlines():
        if b'"on_progress"' in line:
            progress = json.loads(line)["payload"]
        elif b'"on_epoch_end"' in line:
            for name, value in json.loads(line)["payload"]["metrics"].items():
                best[name] = max(value, best.get(name, value))
    _read[events] = (first, offset + whole, progress, best)
    return progress, _best(best)


def _best(metrics: dict[str, float]) -> str:
    for name in BEST_OF:
        if name in metrics:
            return f"{name} {metrics[name]:.4f}"
    return ""
