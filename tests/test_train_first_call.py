"""The first `%train` in a fresh kernel pays only for what it uses: digits without importing
scikit-learn, optimizers without importing torch._dynamo, with the same numbers as before."""

from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from colabmagic.train.data import load_dataset
from colabmagic.train.data.digits import published_split, read_digits
from colabmagic.train.optimizers import make_optimizer, make_scheduler
from colabmagic.train.optimizers import EagerAdamW, EagerSGD


def fresh_process(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- digits: the bundled file, read directly -------------------------------------------------------

def test_digits_are_sklearns_arrays_and_split_bit_for_bit():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    ours_x, ours_y = read_digits()
    assert ours_x.dtype == x.dtype and ours_y.dtype == y.dtype
    assert np.array_equal(ours_x, x) and np.array_equal(ours_y, y)

    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)
    train, test = published_split(y, 0.2, 0)
    for ours, theirs in [(x[train], x_train), (x[test], x_test), (y[train], y_train), (y[test], y_test)]:
        assert np.array_equal(ours, theirs)  # same examples in the same order

    data = load_dataset("digits")
    expected = torch.from_numpy((x_train / 16.0).astype(np.float32).reshape(-1, 1, 8, 8))
    assert torch.equal(data.x_train, expected) and data.x_train.dtype == torch.float32
    assert torch.equal(data.x_test, torch.from_numpy((x_test / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)))
    assert data.y_train.tolist() == y_train.tolist() and data.y_test.tolist() == y_test.tolist()


@pytest.mark.parametrize("labels, size, seed", [
    ([0] * 7 + [1] * 5 + [2] * 9, 0.25, 3),       # remainders tie: the random tie-break must match too
    ([3, 1, 2] * 11 + [5] * 4, 0.3, 42),
])
def test_the_split_is_sklearns_on_other_labels_too(labels, size, seed):
    from sklearn.model_selection import train_test_split

    y = np.array(labels)
    positions = np.arange(len(y))
    train, test = published_split(y, size, seed)
    theirs_train, theirs_test = train_test_split(positions, test_size=size, stratify=y, random_state=seed)
    assert train.tolist() == theirs_train.tolist() and test.tolist() == theirs_test.tolist()


def test_loading_digits_does_not_import_scikit_learn():
    loaded = fresh_process(
        "import json, sys\n"
        "from colabmagic.train.data import load_dataset\n"
        "data = load_dataset('digits')\n"
        "print(json.dumps({'sklearn': 'sklearn' in sys.modules, 'n': len(data.x_train) + len(data.x_test)}))")
    assert loaded == {"sklearn": False, "n": 1797}


# --- optimizers: torch's own, minus the dynamo import ----------------------------------------------

def config(optimizer, weight_decay=5e-4, compile=False):
    return SimpleNamespace(optimizer=optimizer, lr=0.05, momentum=0.9, weight_decay=weight_decay,
                           compile=compile, scheduler="onecycle")


def run_steps(torch_own, optimizer_name, steps=6):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 3))
    # torch_own: what make_optimizer builds for a compiled model, torch's own class, same options
    optimizer = make_optimizer(model, config(optimizer_name, compile=torch_own))
    scheduler = make_scheduler(optimizer, config(optimizer_name), steps)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(32, 8, generator=g), torch.randint(0, 3, (32,), generator=g)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer


@pytest.mark.parametrize("name, eager, torch_class", [("sgd", EagerSGD, torch.optim.SGD),
                                                      ("adamw", EagerAdamW, torch.optim.AdamW)])
def test_eager_optimizers_train_exactly_as_torchs(name, eager, torch_class):
    ours_model, ours = run_steps(False, name)
    torch_model, theirs = run_steps(True, name)
    assert type(theirs) is torch_class
    assert type(ours) is eager and isinstance(ours, torch_class)
    assert ours.defaults["fused"] is True
    for a, b in zip(ours_model.state_dict().values(), torch_model.state_dict().values()):
        assert torch.equal(a, b)  # bit for bit
    ours_state, their_state = ours.state_dict(), theirs.state_dict()
    assert ours_state["param_groups"] == their_state["param_groups"]
    for key, values in ours_state["state"].items():
        for field, value in values.items():
            assert torch.equal(value, their_state["state"][key][field])
    # checkpoints move between the two either way
    theirs.load_state_dict(ours_state)
    ours.load_state_dict(their_state)


def test_a_compiled_model_keeps_torchs_own_optimizer():
    model = torch.nn.Linear(4, 2)
    assert type(make_optimizer(model, config("sgd", compile=True))) is torch.optim.SGD
    assert type(make_optimizer(model, config("adamw", compile=True))) is torch.optim.AdamW


def test_the_optimizer_does_not_import_torch_dynamo():
    used = fresh_process(
        "import json, sys\n"
        "from types import SimpleNamespace\n"
        "import torch\n"
        "from colabmagic.train.optimizers import make_optimizer, make_scheduler\n"
        "model = torch.nn.Linear(4, 2)\n"
        "for name in ('sgd', 'adamw'):\n"
        "    cfg = SimpleNamespace(optimizer=name, lr=0.1, momentum=0.9, weight_decay=1e-4, compile=False,\n"
        "                          scheduler='onecycle')\n"
        "    opt = make_optimizer(model, cfg)\n"
        "    sched = make_scheduler(opt, cfg, 10)\n"
        "    model(torch.randn(3, 4)).sum().backward()\n"
        "    opt.step(); sched.step(); opt.zero_grad()\n"
        "    opt.load_state_dict(opt.state_dict())\n"
        "print(json.dumps({'dynamo': 'torch._dynamo' in sys.modules}))")
    assert used == {"dynamo": False}
