"""What `train()` returns: the trained model, its history and final metrics, timings and where files went."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

# final metrics in the order the summary shows them
METRIC_ORDER = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")


@dataclass
class TrainResult:
    model: Any                          # the trained nn.Module, in eval mode, on the device it trained on
    history: list[dict[str, float]]     # one dict per epoch: epoch (1-based), train_*, val_*, test_*, lr, epoch_seconds
    metrics: dict[str, float]           # final: the last epoch's train_*/val_*/test_* values
    train_seconds: float                # the epochs (steps, per-epoch evaluation, checkpoints), this session only
    wall_seconds: float                 # the whole call: data loading, set-up and training
    samples_per_second: float           # training samples processed per train_seconds
    peak_memory_bytes: int              # CUDA peak allocated on a GPU, else the process's peak RSS
    peak_rss_bytes: int                 # the process's peak resident memory since it started
    checkpoint_path: str | None         # the newest checkpoint written (None if none was)
    logdir: str | None                  # TensorBoard events: `%tensorboard --logdir <logdir>`
    config: dict[str, Any]              # the resolved TrainConfig as a dict
    device: str                         # "cpu", "cuda:0", ...
    epochs_run: int                     # epochs finished in this session (fewer than config epochs after resume)
    precision: str = "fp32"             # what autocast used: fp32, bf16, fp16
    interrupted: bool = False           # stopped by KeyboardInterrupt; checkpoint_path resumes it
    name: str = ""                      # run name (folder under runs/)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. samples per rank under DDP

    def _headline(self) -> str:
        model, dataset = self.config.get("model"), self.config.get("dataset")
        done = len(self.history)
        total = self.config.get("epochs") or done
        state = "interrupted at" if self.interrupted else "trained"
        return (f"{model} on {dataset} ({self.device}, {self.precision}): {state} {done}/{total} epochs, "
                f"{self.train_seconds:.2f} s training, {self.wall_seconds:.2f} s in all, "
                f"{self.samples_per_second:,.0f} samples/s")

    def _rows(self) -> list[tuple[str, str]]:
        keys = [k for k in METRIC_ORDER if k in self.metrics]
        keys += [k for k in self.metrics if k not in keys]
        return [(k, f"{self.metrics[k]:.4f}") for k in keys]

    def _files(self) -> list[tuple[str, str]]:
        rows = [("peak memory", f"{self.peak_memory_bytes / 2**20:,.0f} MiB")]
        if self.checkpoint_path:
            rows.append(("checkpoint", self.checkpoint_path))
        if self.logdir:
            rows.append(("TensorBoard", f"--logdir {self.logdir}"))
        return rows

    def __str__(self) -> str:
        rows = self._rows() + self._files()
        width = max((len(k) for k, _ in rows), default=0)
        return "\n".join([self._headline()] + [f"  {k:<{width}}  {v}" for k, v in rows])

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items())
        return f"TrainResult({self.config.get('model')!r} on {self.config.get('dataset')!r}: {metrics})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><td style='text-align:left'>{html.escape(k)}</td>"
                        f"<td style='text-align:right'><code>{html.escape(v)}</code></td></tr>"
                        for k, v in self._rows())
        files = "".join(f"<tr><td style='text-align:left'>{html.escape(k)}</td>"
                        f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
                        for k, v in self._files())
        return (f"<div><div style='font-weight:600'>{html.escape(self._headline())}</div>"
                f"<table>{cells}{files}</table></div>")
