"""`%train`'s engine against what a user would otherwise write, each pair measured in the same run.

- overhead: train() (metrics on, a progress view on, TensorBoard and checkpoints on) vs a minimal
  hand-written PyTorch loop on the same model, in-memory data, batch size, optimizer and epochs
  (both evaluate on the test split each epoch). Per step: ours' training seconds vs the loop's;
  wall: the whole train() call vs the whole plain script (model build, data to tensors, training).
  Targets: ≤ +0.1 ms per step, wall ratio ≤ 1.05.
- Keras 3 `model.fit` (torch backend) on the same MLP, batch 64, validating each epoch:
  target ours ≤ 0.3x Keras's wall time.
- PyTorch Lightning `Trainer` (default progress bar, DataLoader over tensors) on the same MLP: ratio.
- time to accuracy: `cnn` on digits with its defaults: >= 99 % test accuracy within 2 s of training.
- peak RSS of a CIFAR-shaped cnn run, each in a fresh process: target ≤ 1.1x the plain loop.
- on a CUDA machine: resnet9 on CIFAR-shaped tensors, bf16 + channels_last vs the plain fp32 loop,
  and the digits cnn run on the GPU.
- threads on a busy machine: one CPU-bound competing process holds a core; `cnn digits` training
  with auto threads vs the plain loop at 1 and at 2 threads, all in the same run, BUSY_RUNS times:
  target ours <= 1.15x the faster loop on every run (the worst run is the row). A control row runs
  ours at a fixed 1 thread against the 1-thread loop in the same runs: how far a single run's ratio
  moves on this machine with nothing to choose. Idle (no competitor): auto threads vs torch's default
  count (what train() did before threads.py): target ratio <= 1.0 (within noise).
- first call in a fresh process: `train("cnn", "digits")` in a new interpreter (imports, data,
  model, training) vs a plain script doing the same (torch, sklearn's load_digits and
  train_test_split, the same model and epochs); and ours vs ours paying what it used to (importing
  scikit-learn for the digits file and torch._dynamo for the optimizer).
- a big CSV table: `load_dataset` on a generated 1,000,000-row table (30 float columns, a 4-value
  text column, a 3-class text target; `train()` spends nothing else outside training on it) vs
  pandas `read_csv` + `get_dummies` + split + standardise + tensors, each in a fresh process:
  targets ours <= 1.2x the seconds and <= 1.0x the peak RSS.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402

from harness import Row, report  # noqa: E402

from colabmagic.train import train  # noqa: E402
from colabmagic.train.data import load_dataset  # noqa: E402
from colabmagic.train.data.dataset import Dataset  # noqa: E402
from colabmagic.train.models import build_model, get_template  # noqa: E402
from colabmagic.train.progress import ConsoleView  # noqa: E402
from colabmagic.train.threads import choose, limited  # noqa: E402

REPEATS = 3  # medians over this many pairs, after one warm-up pair
BUSY_RUNS = 5  # the busy-core comparison is run this many times: the claim holds for its worst run


# --- the peer: what a careful user writes by hand ---------------------------------------------

def plain_loop(model: torch.nn.Module, data: Dataset, *, epochs: int, batch_size: int, lr: float,
               device: str = "cpu", channels_last: bool = False, autocast: bool = False) -> float:
    """Tensors in memory, slices of a permutation, test accuracy each epoch; returns training seconds."""
    x, y = normalised(data, device, channels_last)
    x_test, y_test = normalised(data, device, channels_last, split="test")
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    kind = device.split(":")[0]
    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            with torch.autocast(kind, dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad(), torch.autocast(kind, dtype=torch.bfloat16, enabled=autocast):
            correct = (model(x_test).argmax(1) == y_test).sum().item()
    sync(device)
    del correct
    return time.perf_counter() - start


def normalised(data: Dataset, device: str, channels_last: bool, split: str = "train"):
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    x = x.to(device).float()
    if data.kind == "image":
        if data.x_train.dtype == torch.uint8:
            x = x / 255
        mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
        x = (x - mean) / std
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device)


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def steps(data: Dataset, epochs: int, batch_size: int) -> int:
    return epochs * -(-len(data.x_train) // batch_size)


def cifar_shaped(n: int = 5000, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return Dataset(name="cifar-shaped", kind="image", x_train=x, y_train=y, x_test=x[:1000], y_test=y[:1000],
                   num_classes=10, mean=(0.5, 0.5, 0.5), std=(0.29, 0.29, 0.29))


def plain_config(model_name: str, epochs: int, batch_size: int, device: str, **extra) -> dict:
    """train() options that make it do exactly what plain_loop does (no schedule, decay, smoothing)."""
    lr = get_template(model_name).defaults.get("lr", 0.05)
    return dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="sgd", scheduler="none", weight_decay=0.0,
                label_smoothing=0.0, augment="", precision="fp32", device=device, **extra)


def ours(model_name: str, data: Dataset, **options):
    """(wall seconds of the whole call, TrainResult), with a progress view writing rows as in a terminal."""
    start = time.perf_counter()
    result = train(model_name, data, callbacks=[ConsoleView(stream=io.StringIO())], seed=0, **options)
    return time.perf_counter() - start, result


def peer(model_name: str, data: Dataset, epochs: int, batch_size: int, device: str, **loop_options):
    """(wall seconds of the whole plain script, its training seconds)."""
    start = time.perf_counter()
    torch.manual_seed(0)
    model = build_model(model_name, data.spec)
    trained = plain_loop(model, data, epochs=epochs, batch_size=batch_size,
                         lr=get_template(model_name).defaults.get("lr", 0.05), device=device,
                         channels_last=get_template(model_name).convolutional, **loop_options)
    return time.perf_counter() - start, trained


# --- the rows ----------------------------------------------------------------------------------

def overhead_rows(device: str = "cpu") -> list[Row]:
    rows = []
    cases = [("mlp", load_dataset("digits"), 20, 64), ("cnn", load_dataset("digits"), 10, 64),
             ("cnn", cifar_shaped(), 2, 128)]
    for model_name, data, epochs, batch_size in cases:
        config = plain_config(model_name, epochs, batch_size, device)
        samples = []
        for repeat in range(REPEATS + 1):  # the first pair warms up allocators and kernels
            our_wall, result = ours(model_name, data, **config)
            peer_wall, peer_train = peer(model_name, data, epochs, batch_size, device)
            if repeat:
                samples.append((our_wall, result.train_seconds, peer_wall, peer_train))
        our_wall, our_train, peer_wall, peer_train = (statistics.median(s) for s in zip(*samples))
        n = steps(data, epochs, batch_size)
        per_step = (our_train - peer_train) / n * 1e3
        label = f"{model_name} {data.name} b{batch_size} {epochs}ep"
        rows.append(Row(f"{label}: training vs plain loop", our_train * 1e3, peer_train * 1e3,
                        note=f"{per_step:+.3f} ms/step over {n} steps (target <= +0.1)"))
        rows.append(Row(f"{label}: whole call vs plain script", our_wall * 1e3, peer_wall * 1e3,
                        note="target ratio <= 1.05"))
    return rows


def mlp_peer_data():
    data = load_dataset("digits")
    x, y = normalised(data, "cpu", False)
    x_test, y_test = normalised(data, "cpu", False, split="test")
    return data, x.flatten(1), y, x_test.flatten(1), y_test


def keras_row(epochs: int = 20, batch_size: int = 64) -> Row | None:
    try:
        import keras
    except Exception as err:  # keras without a usable backend raises more than ImportError
        print(f"(keras row skipped: {err})")
        return None
    data, x, y, x_test, y_test = mlp_peer_data()
    x, y, x_test, y_test = (t.numpy() for t in (x, y, x_test, y_test))

    def fit() -> float:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                                  keras.layers.Dropout(0.1), keras.layers.Dense(256, activation="relu"),
                                  keras.layers.Dropout(0.1), keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_data=(x_test, y_test), verbose=0)
        return time.perf_counter() - start

    config = plain_config("mlp", epochs, batch_size, "cpu")
    fit()  # warm-up: keras builds and traces its step functions on the first fit
    peer_s = statistics.median(fit() for _ in range(REPEATS))
    ours_s = statistics.median(ours("mlp", data, **config)[0] for _ in range(REPEATS))
    n = steps(data, epochs, batch_size)
    return Row(f"mlp digits b{batch_size} {epochs}ep vs Keras {keras.__version__} fit (torch)", ours_s * 1e3,
               peer_s * 1e3, note=f"{ours_s / n * 1e3:.3f} vs {peer_s / n * 1e3:.3f} ms/step (target ratio <= 0.3)")


def lightning_row(epochs: int = 20, batch_size: int = 64) -> Row | None:
    try:
        import lightning as L
    except ImportError as err:
        print(f"(lightning row skipped: {err})")
        return None
    import logging

    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    data, x, y, x_test, y_test = mlp_peer_data()

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = build_model("mlp", data.spec)

        def training_step(self, batch, _):
            xb, yb = batch
            loss = F.cross_entropy(self.net(xb), yb)
            self.log("loss", loss, prog_bar=True)
            return loss

        def validation_step(self, batch, _):
            xb, yb = batch
            self.log("val_acc", (self.net(xb).argmax(1) == yb).float().mean(), prog_bar=True)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, nesterov=True)

    def fit() -> float:
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, default_root_dir=root,
                                enable_model_summary=False)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                # its progress bar draws as it would in a notebook, unseen
                trainer.fit(Module(), DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True),
                            DataLoader(TensorDataset(x_test, y_test), batch_size=512))
            return time.perf_counter() - start

    config = plain_config("mlp", epochs, batch_size, "cpu")
    fit()
    peer_s = statistics.median(fit() for _ in range(REPEATS))
    ours_s = statistics.median(ours("mlp", data, **config)[0] for _ in range(REPEATS))
    return Row(f"mlp digits b{batch_size} {epochs}ep vs Lightning {L.__version__} Trainer", ours_s * 1e3,
               peer_s * 1e3, note="default progress bar, DataLoader over tensors")


def time_to_accuracy_row(device: str = "cpu", target: float = 0.99, budget: float = 2.0) -> Row:
    """Seconds of training until the first epoch whose test accuracy reaches `target`, vs the budget."""
    _, result = ours("cnn", load_dataset("digits"), device=device)
    elapsed, reached = 0.0, None
    for row in result.history:
        elapsed += row["epoch_seconds"]
        if row["test_accuracy"] >= target:
            reached = elapsed
            break
    final = result.metrics["test_accuracy"]
    if reached is None:
        return Row(f"cnn digits ({device}) to {target:.0%} test accuracy: NOT REACHED", result.train_seconds,
                   budget, unit="s", note=f"final {final:.2%}")
    return Row(f"cnn digits ({device}) to {target:.0%} test accuracy vs {budget:g} s budget", reached, budget,
               unit="s", note=f"final {final:.2%} after {result.train_seconds:.2f} s, {len(result.history)} epochs")


RSS_PROBE = """
import json, sys
sys.path.insert(0, {bench!r})
import torch
torch.set_num_threads(2)
import bench_train as b
data = b.cifar_shaped()
if {ours!r}:
    b.ours("cnn", data, **b.plain_config("cnn", 1, 128, "cpu"))
else:
    b.peer("cnn", data, 1, 128, "cpu")
from colabmagic.train.device import peak_rss
print(json.dumps(peak_rss()))  # VmHWM: ru_maxrss would carry over this benchmark's own peak through fork
"""


def peak_rss_row() -> Row:
    """Each side in a fresh process (ru_maxrss never goes down), CIFAR-shaped cnn for one epoch."""
    def measure(is_ours: bool) -> int:
        code = RSS_PROBE.format(bench=os.path.dirname(os.path.abspath(__file__)), ours=is_ours)
        with tempfile.TemporaryDirectory() as cwd:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
        return json.loads(out.stdout.strip().splitlines()[-1])

    our_peak = statistics.median(measure(True) for _ in range(REPEATS))
    peer_peak = statistics.median(measure(False) for _ in range(REPEATS))
    return Row("peak RSS, cnn cifar-shaped 1 epoch vs plain loop", our_peak / 2**20, peer_peak / 2**20, unit="MiB",
               note="fresh process each; target ratio <= 1.1")


def cuda_rows() -> list[Row]:
    """resnet9 on CIFAR-shaped data: ours (bf16 autocast + channels_last) vs the plain fp32 loop."""
    data = cifar_shaped(n=20000)
    epochs, batch_size = 2, 512
    config = plain_config("resnet9", epochs, batch_size, "cuda", precision="bf16")
    peer("resnet9", data, 1, batch_size, "cuda")  # warm-up: cuDNN autotuning, allocator
    ours("resnet9", data, **config)
    _, result = ours("resnet9", data, **config)
    _, peer_train = peer("resnet9", data, epochs, batch_size, "cuda")
    rows = [Row("resnet9 cifar-shaped b512 images/s: ours bf16+channels_last vs plain fp32",
                result.samples_per_second, len(data.x_train) * epochs / peer_train, unit="/s",
                note="higher is better here")]
    digits = load_dataset("digits")
    _, gpu = ours("cnn", digits, device="cuda")
    _, cpu = ours("cnn", digits, device="cpu")
    rows.append(Row("cnn digits defaults: GPU vs CPU training seconds", gpu.train_seconds, cpu.train_seconds,
                    unit="s", note=f"GPU test accuracy {gpu.metrics['test_accuracy']:.2%}"))
    return rows


# --- threads on a busy machine ---------------------------------------------------------------------

BUSY = "while True: pass"


@contextlib.contextmanager
def busy_core():
    """One CPU-bound competing process for the length of the block."""
    competitor = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.3)  # let it start spinning
        yield
    finally:
        competitor.kill()
        competitor.wait()


def threads_wired() -> bool:
    """Whether train() itself chooses its threads (the loop wraps fit() in threads.limited)."""
    import colabmagic.train as package
    from colabmagic.train import loop, plan

    return any("limited(" in inspect.getsource(module) for module in (package, loop, plan))


def ours_auto_threads(data: Dataset, config: dict) -> float:
    """train()'s training seconds with the thread count it chooses itself (threads=0: auto)."""
    return ours_auto_run(data, config)[0]


def ours_auto_run(data: Dataset, config: dict) -> tuple[float, int]:
    """(training seconds, the thread count it ended at) of train() choosing its threads itself."""
    from colabmagic.train.checkpoint import load_checkpoint

    if threads_wired():
        result = ours("cnn", data, threads=0, **config)[1]
    else:
        with limited(choose(None, "cpu")):  # what fit() does once the loop is wired
            result = ours("cnn", data, **config)[1]
    return result.train_seconds, int(load_checkpoint(result.checkpoint_path).get("threads") or 0)


def ours_fixed_threads(data: Dataset, config: dict, n: int) -> float:
    """train() at exactly n threads: n = torch's default count is what it did before threads.py."""
    with limited(n):
        options = dict(threads=n) if threads_wired() else {}
        return ours("cnn", data, **options, **config)[1].train_seconds


def plain_at(data: Dataset, n: int, epochs: int, batch_size: int) -> float:
    with limited(n):
        return peer("cnn", data, epochs, batch_size, "cpu")[1]


def threads_rows() -> list[Row]:
    data = load_dataset("digits")
    template = get_template("cnn").defaults
    epochs, batch_size = template.get("epochs", 15), template.get("batch_size", 64)
    config = plain_config("cnn", epochs, batch_size, "cpu")
    default_threads = torch.get_num_threads()
    rows = []
    with busy_core():
        runs, ended, control = [], [], []
        for repeat in range(BUSY_RUNS + 1):  # the first run warms up; each run alternates the four
            (ours_s, threads), one, two = (ours_auto_run(data, config), plain_at(data, 1, epochs, batch_size),
                                           plain_at(data, 2, epochs, batch_size))
            fixed = ours_fixed_threads(data, config, 1)
            if repeat:
                runs.append((ours_s, one, two))
                ended.append(threads)
                control.append((fixed, one))
    ratios = [o / min(one, two) for o, one, two in runs]
    ours_s, one, two = (statistics.median(s) for s in zip(*runs))
    label = f"cnn digits b{batch_size} {epochs}ep, one busy core"
    rows.append(Row(f"{label}: ours (auto, ended at {'/'.join(map(str, sorted(set(ended))))}) vs plain loop "
                    f"1 thread, median of {BUSY_RUNS}", ours_s, one, unit="s"))
    rows.append(Row(f"{label}: ours (auto) vs plain loop 2 threads, median", ours_s, two, unit="s"))
    worst = runs[ratios.index(max(ratios))]
    rows.append(Row(f"{label}: ours vs the faster plain loop, worst of {BUSY_RUNS} runs", worst[0], min(worst[1:]),
                    unit="s", note=f"target ratio <= 1.15 on every run; runs: {', '.join(f'{r:.2f}' for r in ratios)}"))
    # the same pair with nothing to choose: how far one run's ratio moves on this machine by itself
    spread = [f / o for f, o in control]
    fixed, one = control[spread.index(max(spread))]
    rows.append(Row(f"{label}: control, ours at a fixed 1 thread vs plain loop 1 thread, worst of {BUSY_RUNS}",
                    fixed, one, unit="s", note=f"runs: {', '.join(f'{r:.2f}' for r in spread)}"))
    samples = []
    for repeat in range(REPEATS + 1):
        pair = (ours_auto_threads(data, config), ours_fixed_threads(data, config, default_threads))
        if repeat:
            samples.append(pair)
    auto, before = (statistics.median(s) for s in zip(*samples))
    rows.append(Row(f"cnn digits, no competitor: ours (auto, chose {choose(None, 'cpu')}) vs ours at torch's "
                    f"default {default_threads} threads (before)", auto, before, unit="s",
                    note=f"target ratio <= 1.0; load average {os.getloadavg()[0]:.1f} at the end"))
    return rows


# --- the first call in a fresh process -------------------------------------------------------------

FIRST_CALL = """
import json, sys, time
start = time.perf_counter()
if {as_before!r}:  # what the first call used to import: sklearn for the digits file, dynamo for the optimizer
    import sklearn.datasets, sklearn.model_selection, torch._dynamo
if {ours!r}:
    import io
    from colabmagic.train import train
    from colabmagic.train.progress import ConsoleView
    result = train("cnn", "digits", callbacks=[ConsoleView(stream=io.StringIO())])
    trained = result.train_seconds
else:
    sys.path.insert(0, {bench!r})
    import torch
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from colabmagic.train.data.dataset import Dataset
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    def images(a):
        return torch.from_numpy((a / 16.0).astype("float32").reshape(-1, 1, 8, 8))
    data = Dataset(name="digits", kind="image", x_train=images(x_train), y_train=torch.from_numpy(y_train),
                   x_test=images(x_test), y_test=torch.from_numpy(y_test), num_classes=10,
                   mean=(float(images(x_train).mean()),), std=(float(images(x_train).std()),))
    import bench_train as b
    trained = b.peer("cnn", data, {epochs}, {batch_size}, "cpu")[1]
print(json.dumps({{"seconds": time.perf_counter() - start, "train": trained,
                  "sklearn": "sklearn" in sys.modules, "dynamo": "torch._dynamo" in sys.modules}}))
"""


def first_call(*, is_ours: bool, as_before: bool = False) -> dict:
    template = get_template("cnn").defaults
    code = FIRST_CALL.format(bench=os.path.dirname(os.path.abspath(__file__)), ours=is_ours, as_before=as_before,
                             epochs=template.get("epochs", 15), batch_size=template.get("batch_size", 64))
    with tempfile.TemporaryDirectory() as cwd:
        start = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
        measured = json.loads(out.stdout.strip().splitlines()[-1])
    measured["process"] = time.perf_counter() - start  # interpreter start-up included
    return measured


def first_call_rows() -> list[Row]:
    """Whole fresh processes, and their part outside training (imports, data, model, set-up): the
    training itself depends on the threads each side runs with, and on a shared machine on its load."""
    runs = {key: [] for key in ("ours", "before", "plain")}
    for _ in range(REPEATS):
        runs["ours"].append(first_call(is_ours=True))
        runs["before"].append(first_call(is_ours=True, as_before=True))
        runs["plain"].append(first_call(is_ours=False))
    for measured in runs.values():
        for r in measured:
            r["setup"] = r["process"] - r["train"]
    med = {key: {k: statistics.median(r[k] for r in rs) for k in ("process", "train", "setup")}
           for key, rs in runs.items()}
    last = runs["ours"][-1]
    imported = [name for name in ("sklearn", "dynamo") if last[name]]
    return [
        Row("first call in a fresh process: train('cnn', 'digits') vs a plain script", med["ours"]["process"],
            med["plain"]["process"], unit="s",
            note=f"of which training {med['ours']['train']:.2f} vs {med['plain']['train']:.2f} s"),
        Row("first call, outside training (imports, data, model, set-up): ours vs plain script",
            med["ours"]["setup"], med["plain"]["setup"], unit="s",
            note=f"ours imported {', '.join(imported) or 'neither sklearn nor torch._dynamo'}"),
        Row("first call, outside training: ours vs ours importing sklearn + torch._dynamo (before)",
            med["ours"]["setup"], med["before"]["setup"], unit="s", note="what the cuts save"),
    ]

# --- a big CSV table: the data path ------------------------------------------------------------

CSV_PROBE = """
import json, sys, time
import numpy as np
import torch  # imported before the clock starts on both sides: a training run has it loaded already
from colabmagic.train.device import peak_rss
start = time.perf_counter()
if {ours!r}:
    from colabmagic.train.data import load_dataset
    data = load_dataset({path!r}, target="target")
    tensors = (data.x_train, data.y_train, data.x_test, data.y_test)
else:  # what a careful user writes: read, one-hot, split, standardise, tensors
    import pandas as pd
    frame = pd.read_csv({path!r})
    classes, y = np.unique(frame.pop("target").to_numpy(), return_inverse=True)
    x = pd.get_dummies(frame, dtype=np.float32).to_numpy(dtype=np.float32)
    del frame
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:int(0.8 * len(x))], order[int(0.8 * len(x)):]
    x_train, x_test = x[train], x[test]
    del x
    mean, std = x_train.mean(0), x_train.std(0)
    tensors = (torch.from_numpy((x_train - mean) / std), torch.from_numpy(y[train]),
               torch.from_numpy((x_test - mean) / std), torch.from_numpy(y[test]))
seconds = time.perf_counter() - start
print(json.dumps({{"seconds": seconds, "peak": peak_rss(), "shape": list(tensors[0].shape)}}))
"""


CSV_REPEATS = 5  # pairs, alternated: a read of 300 MB swings with what the other processes do


def write_table(path: str, rows: int, seed: int = 0) -> None:
    """30 float columns (6 significant digits, as exports write them), one 4-value text column and a
    3-class text target, written in blocks so the writer itself stays small."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    block = 100_000
    for start in range(0, rows, block):
        n = min(block, rows - start)
        frame = pd.DataFrame(rng.normal(size=(n, 30)) * 10, columns=[f"f{i}" for i in range(30)])
        frame.insert(15, "colour", rng.choice(["red", "green", "blue", "amber"], size=n))
        frame["target"] = rng.choice(["low", "mid", "high"], size=n)
        frame.to_csv(path, mode="w" if start == 0 else "a", header=start == 0, index=False, float_format="%.6g")


def prepare_table(path: str, *, is_ours: bool) -> dict:
    code = CSV_PROBE.format(path=path, ours=is_ours)
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def csv_rows(rows: int = 1_000_000) -> list[Row]:
    """load_dataset(table.csv) vs pandas read_csv + get_dummies + split + standardise + tensors, each
    in a fresh process (peak RSS never goes down), alternated, medians of CSV_REPEATS pairs."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "table.csv")
        write_table(path, rows)
        prepare_table(path, is_ours=True), prepare_table(path, is_ours=False)  # warm-up: the file into the page cache
        samples = [(prepare_table(path, is_ours=True), prepare_table(path, is_ours=False))
                   for _ in range(CSV_REPEATS)]
    ours_runs, peer_runs = zip(*samples)
    label = f"csv {rows:,} rows x 30 floats + 4-value text + 3-class target"
    seconds = [r["seconds"] for r in ours_runs], [r["seconds"] for r in peer_runs]
    peaks = [r["peak"] / 2**20 for r in ours_runs], [r["peak"] / 2**20 for r in peer_runs]
    return [Row(f"{label}: load_dataset vs pandas read_csv+get_dummies+tensors", statistics.median(seconds[0]),
                statistics.median(seconds[1]), unit="s",
                note="target ratio <= 1.2; ratios " + ", ".join(f"{a / b:.2f}" for a, b in zip(*seconds))),
            Row(f"{label}: peak RSS, fresh process each", statistics.median(peaks[0]), statistics.median(peaks[1]),
                unit="MiB", note="target ratio <= 1.0")]


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory() as cwd:  # runs/ folders land here, not in the checkout
        os.chdir(cwd)
        report("train: overhead vs a plain PyTorch loop (CPU)", overhead_rows("cpu"))
        report("train: vs the frameworks Colab tutorials use (CPU)",
               [row for row in (keras_row(), lightning_row()) if row is not None])
        report("train: time to accuracy and memory (CPU)", [time_to_accuracy_row(), peak_rss_row()])
        report("train: CPU threads on a busy and an idle machine", threads_rows())
        report("train: the first call in a fresh process", first_call_rows())
        report("train: a big CSV table, preparation outside training", csv_rows())
        if torch.cuda.is_available():
            report("train: CUDA", cuda_rows())


if __name__ == "__main__":
    main()
