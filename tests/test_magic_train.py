"""%train through a real InteractiveShell: results, live rows, and one-line errors with nothing on disk."""

from __future__ import annotations

import json
import os
import signal
import pickle
import textwrap
import time
import warnings

import numpy as np
import pytest
from IPython.core.error import UsageError

from colabmagic.train.checkpoint import checkpoint_files
from conftest import run_ok


def test_messages_name_options_in_python_and_in_the_magic_without_rewording_text():
    """A message names options as Option parts: `drop='Name'` in Python, `--drop Name` in %train."""
    from colabmagic.errors import DataError, Message, Option
    from colabmagic.magics.train import flag, in_magic_words

    message = Message("leave them out with ", Option("drop", "Name,Id"), ", or train a text model on one with ",
                      Option("text", "Name"))
    assert message == "leave them out with drop='Name,Id', or train a text model on one with text='Name'"
    assert message.worded(flag) == "leave them out with --drop Name,Id, or train a text model on one with --text Name"
    assert Message("pass ", Option("target", "COLUMN", literal=True), " (columns: a, b)").worded(flag) == \
        "pass --target COLUMN (columns: a, b)"
    assert Message(Option("image_size"), " does not apply to x.csv: it takes ", Option("target"), ", ",
                   Option("drop")).worded(flag) == "--image-size does not apply to x.csv: it takes --target, --drop"
    assert flag(Option("drop", "my col")) == "--drop 'my col'" and flag(Option("text", "名称")) == "--text 名称"
    assert flag(Option("resume", True)) == "--resume" and flag(Option("compile", False)) == "no --compile"
    assert flag(Option("data")) == "--data" and flag(Option("lr", "0.1", literal=True)) == "--lr 0.1"

    error = DataError(Message("leave it out with ", Option("drop", "Name")))
    assert error.option == "drop" and pickle.loads(pickle.dumps(error)).option == "drop"
    # through JSON (a background run's outcome record): the same parts, so the same words in each interface
    for sent in (message, Message("lower ", Option("lr", "0.1", literal=True), " or ", Option("epochs", 3),
                                  " or ", Option("image_size", (28, 28)))):
        back = Message.from_json(json.loads(json.dumps(sent.to_json())))
        assert back == sent and back.worded(flag) == sent.worded(flag) and back.options == sent.options
    assert pickle.loads(pickle.dumps(error.args[0])).worded(flag) == "leave it out with --drop Name"
    with pytest.raises(DataError, match=r"^leave it out with --drop Name$") as raised:
        with in_magic_words():
            raise error
    assert raised.value.option == "drop"  # the same error, in the magic's words
    with pytest.raises(DataError, match=r"^kind='text' and drop=$"):  # plain text: nothing is reworded
        with in_magic_words():
            raise DataError("kind='text' and drop=")
    with pytest.warns(UserWarning, match="^--image-size chooses another$"):
        with in_magic_words():
            warnings.warn(Message(Option("image_size"), " chooses another"))


def usage_error(shell, line: str) -> str:
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    return str(result.error_in_exec)


def test_list_shows_every_template_and_dataset(shell, capsys):
    run_ok(shell, "%train --list")
    out = capsys.readouterr().out
    for name in ("mlp", "cnn", "resnet9", "resnet18", "lstm", "transformer",
                 "digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "imdb"):
        assert f"  {name} " in out


def test_train_prints_epoch_rows_and_summary_and_returns_result(shell, workdir, capsys):
    result = run_ok(shell, "%train mlp digits --epochs 2 -o")
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out
    assert "test_accuracy" in out
    assert result.metrics["test_accuracy"] > 0.85
    assert len(result.history) == 2
    assert (workdir / "runs" / "mlp-digits").is_dir()


def test_quiet_prints_only_the_summary_and_v_stores(shell, workdir, capsys):
    assert run_ok(shell, "%train mlp digits --epochs 1 --quiet -v fitted") is None
    out = capsys.readouterr().out
    assert "Epoch 1/1" not in out and "test_accuracy" in out
    assert shell.user_ns["fitted"].metrics["test_accuracy"] > 0.5


def test_data_from_the_notebook_namespace(shell, workdir):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 5)).astype("float32")
    shell.user_ns.update(X=x, y=(x[:, 0] > 0).astype("int64"))
    result = run_ok(shell, "%train mlp --data X y --epochs 3 --quiet -o")
    assert result.metrics["test_accuracy"] > 0.8


@pytest.mark.parametrize("line, expected", [
    ("%train cnnn digits", "did you mean 'cnn'"),
    ("%train cnn digitz", "did you mean 'digits'"),
    ("%train cnn digits --batch-size 0", "batch"),
    ("%train cnn digits --device cuda:7", "cuda"),
    ("%train lstm digits", "text"),
    ("%train mlp --data nowhere y", "nowhere"),
    ("%train", "needs a model"),
    ("%train cnn digits --epochs two", "epochs"),
])
def test_bad_input_is_one_usage_error_and_writes_nothing(shell, workdir, line, expected):
    assert expected in usage_error(shell, line)
    assert list(workdir.iterdir()) == []


@pytest.mark.parametrize("name", ["..", ".", "../elsewhere", ".hidden", "x" * 101, "a/b"])
def test_a_run_name_that_would_leave_runs_is_refused_and_the_users_files_stay(shell, workdir, name):
    """`--name ..` used to write model.pt, checkpoints/ and event files into the working folder, over
    the user's own model.pt; `--name .` straight into runs/."""
    (workdir / "model.pt").write_bytes(b"the user's own model")
    message = usage_error(shell, f"%train mlp digits --name {name} --epochs 1")
    assert "Run name" in message and "\n" not in message and len(message) < 300
    assert sorted(p.name for p in workdir.iterdir()) == ["model.pt"]
    assert (workdir / "model.pt").read_bytes() == b"the user's own model"


def test_a_huge_path_is_not_echoed_whole(shell, workdir):
    message = usage_error(shell, f"%train mlp {'d' * 100_000}.csv --target label")
    assert "\n" not in message and len(message) < 500, len(message)


def test_csv_without_target_column(shell, workdir):
    csv = workdir / "table.csv"
    csv.write_text("a,b,c\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n")
    message = usage_error(shell, f"%train mlp {csv} --target label")
    assert "label" in message
    assert sorted(p.name for p in workdir.iterdir()) == ["table.csv"]


@pytest.mark.slow
def test_compile_flag_trains_through_torch_compile(shell, workdir):
    """--compile wraps the model in torch.compile (inductor needs a C compiler: CPython's gcc here)."""
    result = run_ok(shell, "%train mlp digits --compile --epochs 2 --quiet -o")
    assert result.config["compile"] is True
    assert result.metrics["test_accuracy"] > 0.85
    assert type(result.model).__name__ == "MLP"  # the plain module comes back, not the compiled wrapper


def once_training(workdir, action, seconds: float = 120.0) -> None:
    """Run `action` once the run's folder exists: training has begun (not the imports or the planning,
    however long a busy machine takes for them)."""
    deadline = time.monotonic() + seconds
    while not (workdir / "runs").is_dir() or not any((workdir / "runs").iterdir()):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)
    action()


def test_an_interrupt_is_not_an_error_prints_the_resume_line_and_delivers_the_partial_result(shell, workdir, capsys):
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job may start with SIGINT ignored
    shell.user_ns["stop"] = lambda: once_training(workdir, lambda: os.kill(os.getpid(), signal.SIGINT))
    # an interrupt arriving while %train runs (from another thread, as the kernel's would)
    cell = textwrap.dedent("""
        import threading
        threading.Thread(target=stop, daemon=True).start()
        %train mlp digits --epochs 400 --lr 0.04 --quiet -v partial
    """)
    outcome = shell.run_cell(cell, store_history=False)
    assert outcome.success  # no red UsageError
    out = capsys.readouterr().out
    assert "Training interrupted at epoch" in out
    assert "%train mlp digits --epochs 400 --lr 0.04 --quiet -v partial --resume" in out
    partial = shell.user_ns["partial"]
    assert partial.interrupted and checkpoint_files(workdir / "runs" / "mlp-digits" / "checkpoints")


def test_the_session_expiring_stops_train_like_an_interrupt(shell, workdir, capsys, monkeypatch):
    import colabmagic.session as session

    clock = session.Session(limit=3600, persist=False, notify=lambda message: None)
    monkeypatch.setattr(session.wiring, "_current", clock)
    # the session's timer thread would call check() when the limit passes; here a timer calls it at once
    shell.user_ns["expire"] = lambda: once_training(workdir, lambda: clock.check(now=clock.clock() + 7200))
    cell = textwrap.dedent("""
        import threading
        threading.Thread(target=expire, daemon=True).start()
        %train mlp digits --epochs 400 --quiet -v partial
    """)
    assert shell.run_cell(cell, store_history=False).success
    out = capsys.readouterr().out
    assert "Training stopped (the session's time limit was reached) at epoch" in out
    assert "%train mlp digits --epochs 400 --quiet -v partial --resume" in out
    assert shell.user_ns["partial"].interrupted
    assert not clock._hooks  # %train's hook is gone once it has returned


@pytest.mark.slow
def test_the_session_expiring_stops_a_ddp_run_with_a_checkpoint_and_the_resume_line(shell, workdir, capsys, monkeypatch):
    """--devices: the kernel waits for torchrun's workers; the expiry reaches them (gloo on the CPU)."""
    import threading

    import colabmagic.session as session

    clock = session.Session(limit=3600, persist=False, notify=lambda message: None)
    monkeypatch.setattr(session.wiring, "_current", clock)
    checkpoints = workdir / "runs" / "mlp-digits" / "checkpoints"
    said = []  # what %train's expiry hook returns: how many runs it asked to stop
    add_hook = clock.add_expiry_hook
    monkeypatch.setattr(clock, "add_expiry_hook", lambda hook: add_hook(lambda: said.append(hook()) or said[-1]))

    def expire_once_training():  # the workers are training once rank 0 has checkpointed an epoch
        while not checkpoint_files(checkpoints) and not done.is_set():
            done.wait(0.05)
        clock.check(now=clock.clock() + 7200)

    done = threading.Event()
    expirer = threading.Thread(target=expire_once_training)
    expirer.start()
    try:
        outcome = shell.run_cell("%train mlp digits --epochs 300 --devices 2 --device cpu --quiet -v partial",
                                 store_history=False)
    finally:
        done.set()
        expirer.join()
    assert outcome.success, outcome.error_in_exec
    out = capsys.readouterr().out
    assert "Training stopped (the session's time limit was reached) at epoch" in out
    assert "%train mlp digits --epochs 300 --devices 2 --device cpu --quiet -v partial --resume" in out
    partial = shell.user_ns["partial"]
    assert partial.interrupted and len(partial.history) < 300
    assert checkpoint_files(checkpoints)
    assert said == [1]  # the hook tells the session it asked one run (the launch) to stop
    assert not clock._hooks


# --- notes: printed once, in the magic's words -------------------------------------------------

def no_note_warnings(recorded) -> bool:
    from colabmagic.train.notes import TrainingNote

    return not [w for w in recorded if issubclass(w.category, TrainingNote) or "resized" in str(w.message)]


def test_resized_photos_are_noted_once_in_the_magics_words(shell, workdir, capsys, recwarn):
    from PIL import Image

    for i in range(8):  # bigger than the cnn's natural 32x32
        folder = workdir / "photos" / ("day" if i % 2 else "night")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (64, 48), (200 - i * 20,) * 3).save(folder / f"IMG_{i}.jpg")
    run_ok(shell, "%train cnn photos --epochs 1 --batch-size 8 --threads 1 --quiet")
    out = capsys.readouterr().out
    note = "images resized from 48x64 to 32x32, the model's natural size: --image-size HxW chooses another"
    assert out.count(note) == 1 and "image_size=" not in out
    assert no_note_warnings(recwarn)  # a line, not a warning as well


def test_a_text_column_note_names_the_flag(shell, workdir, capsys, recwarn):
    words = ["good fine great", "bad awful poor"]
    rows = ["名称,city,label"] + [f"{words[i % 2]} {i},c{i},{i % 2}" for i in range(60)]
    (workdir / "x.csv").write_text("\n".join(rows), encoding="utf-8")
    run_ok(shell, "%train lstm x.csv --text 名称 --target label --epochs 1 --threads 1 --quiet")
    out = capsys.readouterr().out
    assert out.count("--text 名称: the other columns (city) are not used") == 1 and "text=" not in out
    assert no_note_warnings(recwarn)


def test_a_run_name_clash_and_a_finished_run_are_noted_once(shell, workdir, capsys, recwarn):
    run_ok(shell, "%train mlp digits --epochs 1 --threads 1 --quiet")
    capsys.readouterr()
    run_ok(shell, "%train mlp digits --epochs 1 --threads 1 --quiet")
    out = capsys.readouterr().out
    assert out.count("runs/mlp-digits already holds a run: this one writes to runs/mlp-digits-2") == 1
    run_ok(shell, "%train mlp digits --epochs 1 --threads 1 --quiet --resume")
    out = capsys.readouterr().out
    assert out.count("had finished all 1 epochs: this is its saved result "
                     "(--resume with a larger --epochs N, over 1, trains it on)") == 1
    assert no_note_warnings(recwarn)


# --- flags through the magic --------------------------------------------------------------------

def test_data_with_a_dataset_is_refused_in_one_line(shell, workdir):
    shell.user_ns.update(X=np.zeros((20, 3), "float32"), y=np.arange(20) % 2)
    message = usage_error(shell, "%train mlp digits --data X y")
    assert "\n" not in message and "--data X y" in message and "'digits'" in message
    assert list(workdir.iterdir()) == []


def test_keep_checkpoints_keeps_that_many(shell, workdir):
    often = "%train mlp digits --epochs 4 --checkpoint-every 0.0001 --threads 1 --quiet"  # every few steps
    run_ok(shell, f"{often} --name kept --keep-checkpoints 2")
    run_ok(shell, f"{often} --name every --keep-checkpoints 0")
    assert len(checkpoint_files(workdir / "runs" / "kept" / "checkpoints")) == 2
    assert len(checkpoint_files(workdir / "runs" / "every" / "checkpoints")) > 2  # so 2 is the flag's doing


@pytest.mark.parametrize("model", ["cnn", "resnet9"])
def test_digits_are_not_flipped_by_default(shell, workdir, model):
    """A flipped digit is another digit (or none): the flip of resnet9's default augmentation is left out."""
    result = run_ok(shell, f"%train {model} digits --epochs 1 --batch-size 256 --threads 1 --quiet -o")
    assert "flip" not in str(result.config["augment"] or "")
    if model == "resnet9":
        assert "crop" in result.config["augment"]  # the rest of the default stays
