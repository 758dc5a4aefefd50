"""What `train()` returns: the trained model, its history and final metrics, timings and where files went."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ..locale import mark, tr
from ..columns import padded, width as text_columns

# final metrics in the order the summary shows them
METRIC_ORDER = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy")
# the HTML grid's words: a split per row, a measure per column (the text summary keeps the metric keys)
SPLIT_WORDS = {"train": mark("train"), "val": mark("validation"), "test": mark("test")}
MEASURE_WORDS = {"loss": mark("loss"), "accuracy": mark("accuracy")}


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
    classes: list[Any] = field(default_factory=list)    # original label values, in class-index order
    preprocessing: Any = None           # what was done to raw inputs (train/preprocess/), plain data
    spec: Any = None                    # the DataSpec the model was built for
    template: str = ""                  # model template name ("" for your own nn.Module)

    def predict(self, x: Any, *, batch_size: int = 512):
        """Predicted labels (numpy array of `classes` values) for raw inputs in the training data's form.

        x: arrays, a DataFrame or CSV path (tables), image arrays / files / a folder (images, in
        sorted path order), a list of strings or a CSV path (text); preprocessed as training was.
        """
        from .predict import labels

        return labels(self, x, batch_size=batch_size)

    def predict_proba(self, x: Any, *, batch_size: int = 512):
        """(N, len(classes)) float32 class probabilities for raw inputs (see `predict`)."""
        from .predict import probabilities

        return probabilities(self, x, batch_size=batch_size)

    def save(self, path) -> str:
        """Write one self-contained model file (weights, template, config, preprocessing, classes,
        metrics), whole or not at all; `colabmagic.train.load(path)` reads it back."""
        from .saved import save

        return str(save(self, path))

    def _headline(self) -> str:
        model, dataset = self.config.get("model"), self.config.get("dataset")
        done = len(self.history)
        total = self.config.get("epochs") or done
        values = dict(model=model, dataset=dataset, device=self.device, precision=self.precision, done=done, total=total)
        if self.extra.get("finished_before"):  # a resume of a finished run: nothing trained now
            return tr("{model} on {dataset} ({device}, {precision}): finished {done}/{total} epochs earlier "
                      "({seconds:.2f} s training), saved result").format(
                seconds=self.extra.get("saved_train_seconds", 0.0), **values)
        template = (tr("{model} on {dataset} ({device}, {precision}): interrupted at {done}/{total} epochs, "
                       "{seconds:.2f} s training, {wall:.2f} s in all, {rate:,.0f} samples/s") if self.interrupted
                    else tr("{model} on {dataset} ({device}, {precision}): trained {done}/{total} epochs, "
                            "{seconds:.2f} s training, {wall:.2f} s in all, {rate:,.0f} samples/s"))
        return template.format(seconds=self.train_seconds, wall=self.wall_seconds, rate=self.samples_per_second,
                               **values)

    def _rows(self) -> list[tuple[str, str]]:
        keys = [k for k in METRIC_ORDER if k in self.metrics]
        keys += [k for k in self.metrics if k not in keys]
        return [(k, f"{self.metrics[k]:.4f}") for k in keys]

    def _files(self) -> list[tuple[str, str]]:
        rows = [(tr("peak memory"), f"{self.peak_memory_bytes / 2**20:,.0f} MiB")]
        if self.checkpoint_path:
            rows.append((tr("checkpoint"), self.checkpoint_path))
        if self.logdir:
            rows.append(("TensorBoard", f"--logdir {self.logdir}"))
        return rows

    def __str__(self) -> str:
        rows = self._rows() + self._files()
        width = max((text_columns(k) for k, _ in rows), default=0)
        return "\n".join([self._headline()] + [f"  {padded(k, width)}  {v}" for k, v in rows])

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in self.metrics.items())
        return f"TrainResult({self.config.get('model')!r} on {self.config.get('dataset')!r}: {metrics})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        # Two tables, each aligned one way: the metrics as a split x measure grid of numbers (right-
        # aligned, same digits, so they line up), then the run's details as text (left-aligned).
        # Every cell says its alignment: notebook and nbconvert styles right-align cells by default.
        cell = "padding:2px 10px;border:none;background:none;"
        num = f"{cell}text-align:right;font-variant-numeric:tabular-nums;font-family:monospace"
        head = f"{cell}text-align:right;font-weight:600"
        label = f"{cell}text-align:left;font-weight:600"
        splits = [s for s in ("train", "val", "test") if any(k.startswith(f"{s}_") for k in self.metrics)]
        measures = [m for m in ("loss", "accuracy") if any(f"{s}_{m}" in self.metrics for s in splits)]
        grid = "".join(
            f"<tr style='background:none'><th style='{label}'>{html.escape(tr(SPLIT_WORDS[s]))}</th>"
            + "".join(f"<td style='{num}' title='{s}_{m}'>{self.metrics[f'{s}_{m}']:.4f}</td>" if f"{s}_{m}" in self.metrics
                      else f"<td style='{num}'></td>" for m in measures) + "</tr>"
            for s in splits)
        shown = {f"{s}_{m}" for s in splits for m in measures}
        others = "".join(f"<tr style='background:none'><th style='{label}'>{html.escape(k)}</th><td style='{num}' colspan='{max(len(measures), 1)}'>"
                         f"{html.escape(v)}</td></tr>" for k, v in self._rows() if k not in shown)
        header = "".join(f"<th style='{head}'>{html.escape(tr(MEASURE_WORDS[m]))}</th>" for m in measures)
        metrics = (f"<table style='border-collapse:collapse;margin:6px 0'><thead><tr><th style='{label}'></th>"
                   f"{header}</tr></thead><tbody>{grid}{others}</tbody></table>") if grid or others else ""
        text = f"{cell}text-align:left"
        details = "".join(f"<tr style='background:none'><th style='{cell}text-align:left;font-weight:normal;opacity:0.75'>{html.escape(k)}</th>"
                          f"<td style='{text}'><code>{html.escape(v)}</code></td></tr>" for k, v in self._files())
        return (f"<div class='colabmagic-result' style='font-size:13px'>"
                f"<div style='font-weight:600'>{html.escape(self._headline())}</div>{metrics}"
                f"<table style='border-collapse:collapse'><tbody>{details}</tbody></table></div>")
