"""`%train`'s engine against what a user would otherwise write, each pair measured in the same run.

- overhead: train() (metrics on, console view on) vs a minimal hand-written PyTorch loop on the same
  model, in-memory data, batch size, optimizer and epochs (both evaluate on the test split each epoch).
  Targets: ≤ +0.1 ms per step, wall ratio ≤ 1.05.
- Keras 3 `model.fit` (torch backend) on the same MLP, batch 64: target ours ≤ 0.3× Keras's time.
- PyTorch Lightning `Trainer` (default progress bar) on the same MLP: ratio reported.
- time to accuracy: `cnn` on digits with its defaults: ≥ 99 % test accuracy in ≤ 2 s of training.
- peak RSS of a CIFAR-shaped cnn run (separate processes): target ≤ 1.1× the plain loop.
- on a CUDA machine: resnet9 on CIFAR-shaped tensors, bf16 + channels_last vs the plain fp32 loop.
"""

from __future__ import annotations

import io
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch  # noqa: E402

from harness import Row, report  # noqa: E402

from colabmagic.train import train  # noqa: E402
from colabmagic.train.data import load_dataset  # noqa: E402
from colabmagic.train.data.dataset import Dataset  # noqa: E402
from colabmagic.train.models import build_model, get_template  # noqa: E402
from colabmagic.train.progress import ConsoleView  # noqa: E402

REPEATS = 3


def plain_loop(model: torch.nn.Module, data: Dataset, *, epochs: int, batch_size: int, lr: float,
               device: str = "cpu", channels_last: bool = False, autocast: bool = False) -> float:
    """The loop a careful user writes by hand: tensors in memory, slices of a permutation, no metrics.

    Returns seconds from the first step to the end of the last test evaluation.
    """
    x, y = normalised(data, device, channels_last)
    x_test, y_test = normalised(data, device, channels_last, split="test")
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    sync(device)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(x), device=device)
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = (model(x_test).argmax(1) == y_test).sum().item()
    sync(device)
    del correct
    return time.perf_counter() - start


def normalised(data: Dataset, device: str, channels_last: bool, split: str = "train"):
    x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
    x = x.to(device).float()
    if data.kind == "image":
        if x.max() > 1.5:
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


def ours_seconds(model_name: str, data: Dataset, **options) -> tuple[float, object]:
    start = time.perf_counter()
    result = train(model_name, data, callbacks=[ConsoleView(stream=io.StringIO())], seed=0,
                   name=f"bench-{model_name}", logdir=os.devnull if False else None, **options)
    return time.perf_counter() - start, result


def overhead_rows(device: str = "cpu") -> list[Row]:
    rows = []
    cases = [("mlp", load_dataset("digits"), 5, 64), ("cnn", load_dataset("digits"), 5, 64),
             ("cnn", cifar_shaped(), 1, 128)]
    for model_name, data, epochs, batch_size in cases:
        lr = get_template(model_name).defaults.get("lr", 0.05)
        config = dict(epochs=epochs, batch_size=batch_size, lr=lr, optimizer="sgd", scheduler="none",
                      weight_decay=0.0, label_smoothing=0.0, augment="", precision="fp32", device=device)
        ours, peer = [], []
        for repeat in range(REPEATS + 1):  # the first pair warms up allocators and kernels
            o, _ = ours_seconds(model_name, data, **config)
            torch.manual_seed(0)
            start = time.perf_counter()
            p = plain_loop(build_model(model_name, data.spec), data, epochs=epochs, batch_size=batch_size,
                           lr=lr, device=device, channels_last=get_template(model_name).convolutional)
            p = time.perf_counter() - start
            if repeat:
                ours.append(o)
                peer.append(p)
        n = steps(data, epochs, batch_size)
        o_med, p_med = statistics.median(ours), statistics.median(peer)
        rows.append(Row(f"{model_name} {data.name} b{batch_size} wall vs plain loop", o_med * 1e3, p_med * 1e3,
                        note=f"{(o_med - p_med) / n * 1e3:+.3f} ms/step over {n} steps"))
    return rows


def main() -> None:
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    report("train: overhead vs a plain PyTorch loop (CPU)", overhead_rows("cpu"))


if __name__ == "__main__":
    main()
