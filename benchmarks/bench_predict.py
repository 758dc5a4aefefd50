"""`result.predict` on raw inputs against what a user had before it, each pair measured in the same run.

- accuracy on the held-out rows in their raw form (what the user has: sklearn's digits pixels
  0..16, uint8 images, CSV rows with text, date and missing columns, texts): ours = predict(),
  peer = `result.model(raw X)` (arrays) or the reported test accuracy (tables, texts, where the
  model cannot take raw rows at all). Here a ratio of 1.000 (or above) is the target.
- speed: predict() on the 360 test rows vs a plain call that standardises by hand and runs the
  model under no_grad (ms; target: under 1 ms more; predict also checks and converts the inputs,
  and maps indices back to labels).
- a saved model file loaded back in a fresh process: its predictions equal the original's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import torch

from harness import Row, median_seconds, report

from colabmagic.train import train
from colabmagic.train.data.split import TEST_SEED, stratified_indices

warnings.simplefilter("ignore")  # resize / small-split notes are not what is measured here


def held(y) -> np.ndarray:
    return stratified_indices(np.asarray(y), 0.2, TEST_SEED)[1]


def accuracy(predicted, expected) -> float:
    return 100.0 * float(np.mean(np.asarray(predicted) == np.asarray(expected)))


def main() -> None:
    from sklearn.datasets import load_digits

    os.chdir(tempfile.mkdtemp(prefix="bench-predict-"))
    rows = []
    x, y = load_digits(return_X_y=True)
    h = held(y)

    mlp = train("mlp", data=(x, y), epochs=10, device="cpu")
    raw = mlp.model(torch.from_numpy(x[h]).float()).argmax(1).numpy()
    rows.append(Row("mlp, digits arrays: predict vs model(raw X)", accuracy(mlp.predict(x[h]), y[h]),
                    accuracy(raw, y[h]), "%", f"reported test {100 * mlp.metrics['test_accuracy']:.2f} %"))

    images = np.round(x * 255 / 16).astype(np.uint8).reshape(-1, 8, 8)
    cnn = train("cnn", data=(images, y), epochs=5, device="cpu")
    raw = cnn.model(torch.from_numpy(images[h]).float()[:, None]).argmax(1).numpy()
    rows.append(Row("cnn, uint8 images: predict vs model(raw X)", accuracy(cnn.predict(images[h]), y[h]),
                    accuracy(raw, y[h]), "%", f"reported test {100 * cnn.metrics['test_accuracy']:.2f} %"))

    import pandas as pd
    import vega_datasets

    cars = pd.DataFrame(json.load(open(os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "cars.json"))))
    cars.to_csv("cars.csv", index=False)
    hc = held(cars["Origin"])
    table = train("mlp", "cars.csv", target="Origin", drop="Name", epochs=20, device="cpu")
    cars.iloc[hc].drop(columns="Origin").to_csv("new.csv", index=False, sep=";", decimal=",")
    origin = cars["Origin"].to_numpy()[hc]
    rows.append(Row("mlp, cars.csv (text, date, NaN cols): predict(csv) vs reported",
                    accuracy(table.predict("new.csv"), origin), 100 * table.metrics["test_accuracy"], "%"))
    text = train("lstm", "cars.csv", target="Origin", text="Name", epochs=5, device="cpu")
    rows.append(Row("lstm, cars.csv --text Name: predict(texts) vs reported",
                    accuracy(text.predict(cars["Name"].to_numpy()[hc].tolist()), origin),
                    100 * text.metrics["test_accuracy"], "%"))

    info = mlp.preprocessing
    mean, std = info["mean"].float(), info["std"].float()
    test = torch.from_numpy(x[h])

    def plain():
        with torch.no_grad():
            return mlp.model(((test - mean) / std).float()).argmax(1)

    ours, peer = [], []
    for _ in range(15):  # alternated, best of each: a busy machine slows both alike
        ours.append(median_seconds(lambda: mlp.predict(x[h]), repeat=1, number=5))
        peer.append(median_seconds(plain, repeat=1, number=5))
    rows.append(Row("predict() 360 rows vs hand-standardised model call", 1e3 * min(ours), 1e3 * min(peer), "ms"))

    path = mlp.save("mlp.pt")
    script = (f"from colabmagic.train import load; import numpy as np, sys; r = load({path!r}, device='cpu'); "
              f"x = np.load('x.npy'); print(','.join(map(str, r.predict(x).tolist())))")
    np.save("x.npy", x[h])
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    fresh = time.perf_counter() - start
    same = out.stdout.strip() == ",".join(map(str, mlp.predict(x[h]).tolist()))
    rows.append(Row("load() in a fresh process: same predictions (1 = yes)", float(same), 1.0, "",
                    f"{fresh:.1f} s for the whole process, {os.path.getsize(path) / 1024:.0f} KiB file"))
    report("predict on raw inputs, save and load", rows)


if __name__ == "__main__":
    main()
