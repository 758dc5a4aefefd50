"""The saved-model file and `colabmagic.train.load` (issue 9 §1): one self-contained file, written whole
or not at all, read with torch.load(weights_only=True), back in a fresh process as a TrainResult."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from colabmagic.errors import CheckpointError
from colabmagic.train import load, train
from colabmagic.train.saved import FORMAT, MODEL_FILE, save_result

FAST = dict(device="cpu", threads=1, checkpoint_every=0)


def weather_csv(folder: Path, n: int = 160) -> Path:
    rng = np.random.default_rng(2)
    rain = rng.uniform(0, 10, n).round(1)
    sky = rng.choice(["grey", "blue", "white"], n)
    labels = np.where((rain > 5) | (sky == "grey"), "wet", "dry")
    days = [f"2012/{1 + i % 12:02d}/{1 + i % 28:02d}" for i in range(n)]
    path = folder / "weather.csv"
    path.write_text("date,rain,sky,weather\n" + "".join(f"{d},{r},{s},{w}\n" for d, r, s, w in zip(days, rain, sky, labels)))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One run for the whole module, trained in its own current folder (runs/weather lands there)."""
    folder = tmp_path_factory.mktemp("saved")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        path = weather_csv(folder)
        yield train("mlp", str(path), target="weather", name="weather", epochs=4, batch_size=32, **FAST), path


@pytest.fixture
def workdir(trained):
    """The module run's folder, the current folder of every test here."""
    return trained[1].parent


def test_save_then_load_in_a_fresh_process(trained, workdir):
    result, csv = trained
    file = Path(result.save(workdir / "out" / "weather.pt"))
    assert file.is_file() and not list(file.parent.glob("*.part"))
    state = torch.load(file, weights_only=True)  # plain data only: nothing in it can run code
    assert state["format"] == FORMAT and state["template"] == "mlp" and state["classes"] == ["dry", "wet"]
    assert state["spec"]["kind"] == "tabular" and state["preprocessing"]["columns"][0]["type"] == "date"
    assert state["metrics"] == pytest.approx(result.metrics)
    expected = result.predict(csv).tolist()
    script = (
        "import json, sys\n"
        "from colabmagic.train import load\n"
        f"r = load({str(file)!r}, device='cpu')\n"
        f"p = r.predict({str(csv)!r}).tolist()\n"
        "print(json.dumps({'p': p, 'classes': r.classes, 'metrics': r.metrics, 'device': str(next(r.model.parameters()).device),"
        " 'training': r.model.training, 'summary': str(r), 'proba': r.predict_proba(%r)[:2].tolist()}))\n" % str(csv))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=workdir)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["p"] == expected and got["classes"] == ["dry", "wet"] and got["device"] == "cpu"
    assert got["metrics"] == pytest.approx(result.metrics) and not got["training"]
    assert got["summary"].startswith(f"mlp on {csv} (cpu, fp32): trained 4/4 epochs")
    assert np.allclose(got["proba"], result.predict_proba(csv)[:2], atol=1e-6)


def test_load_a_run_by_name_from_its_model_file_or_its_checkpoint(trained, workdir):
    result, csv = trained
    expected = result.predict(csv).tolist()
    folder = workdir / "runs" / "weather"
    model = save_result(result, folder)
    assert model == folder / MODEL_FILE
    loaded = load("weather")
    assert Path(loaded.extra["loaded_from"]).resolve() == model.resolve()
    assert loaded.predict(csv).tolist() == expected
    model.unlink()  # no model file: the newest checkpoint, with the same preprocessing and classes
    from_checkpoint = load("weather", device="cpu")
    assert from_checkpoint.extra["loaded_from"].endswith("epoch0004-step000000.pt")
    assert from_checkpoint.predict(csv).tolist() == expected and from_checkpoint.classes == ["dry", "wet"]
    assert from_checkpoint.metrics == pytest.approx(result.metrics)
    assert load(folder).predict(csv).tolist() == expected  # a run folder works too
    with pytest.raises(CheckpointError, match=r"No model file, run folder or run named 'wether' \(runs: weather\)"):
        load("wether")


def test_save_is_whole_or_nothing(trained, workdir, monkeypatch):
    result, _ = trained
    file = Path(result.save(workdir / "m.pt"))
    before = file.read_bytes()

    def broken(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(CheckpointError, match="Cannot write the model file .*m.pt: No space left on device"):
        result.save(file)
    assert file.read_bytes() == before and sorted(p.name for p in workdir.glob("m.pt*")) == ["m.pt"]


def test_a_file_that_would_run_code_is_refused(workdir):
    marker = workdir / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = workdir / "evil.pt"
    torch.save({"format": FORMAT, "version": 1, "model": Evil()}, path)
    with pytest.raises(CheckpointError, match="holds objects that are not plain data"):
        load(path)
    assert not marker.exists()
    (workdir / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="junk.pt is corrupt"):
        load(workdir / "junk.pt")


def test_load_on_another_device_spec_and_a_bad_one(trained):
    result, csv = trained
    from colabmagic.errors import ConfigError

    with pytest.raises(ConfigError, match="Unknown device 'tpu'"):
        load("weather", device="tpu")
    loaded = load("weather", device="auto")  # a GPU when there is one, else the CPU
    assert loaded.predict(csv).tolist() == result.predict(csv).tolist()
