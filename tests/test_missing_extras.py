"""Without the `train` extra, %train says the exact pip line: tested in a real venv that lacks torch.

The venv is made in a blink: no pip, and a .pth file that links a copy of this environment's
site-packages minus torch (and what only torch needs), so the rest of colabmagic's dependencies
(IPython, psutil, ...) import as they would after `pip install colabmagic`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

WITHOUT = ("torch", "functorch", "torchgen", "tensorboard", "tensorboard_data_server")


@pytest.fixture(scope="module")
def torchless_python(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("torchless")
    venv.EnvBuilder(with_pip=False).create(root / "venv")
    python = root / "venv" / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = Path(sysconfig.get_paths()["purelib"])
    shelf = root / "site"
    shelf.mkdir()
    for entry in ours.iterdir():
        name = entry.name.split("-")[0].split(".")[0].lower()
        if name in WITHOUT or entry.name.startswith(tuple(f"{w}-" for w in WITHOUT)):
            continue
        (shelf / entry.name).symlink_to(entry)
    Path(site, "shelf.pth").write_text(f"{shelf}\n")
    return str(python)


def run_in(python: str, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([python, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120,
                          env=env, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_torchless_venv_really_lacks_torch(torchless_python):
    done = run_in(torchless_python, "import torch")
    assert done.returncode != 0 and "No module named 'torch'" in done.stderr
    assert run_in(torchless_python, "import IPython, psutil, colabmagic").returncode == 0


def test_train_without_torch_gives_the_pip_line(torchless_python):
    done = run_in(torchless_python, """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        assert shell.run_cell("%load_ext colabmagic").success
        result = shell.run_cell("%train cnn digits")
        print("ERROR:", type(result.error_in_exec).__name__, result.error_in_exec)
    """)
    assert "ERROR: UsageError torch is not installed: pip install 'colabmagic[train]'" in done.stdout, done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_load_without_torch_gives_the_pip_line_in_the_magic_and_in_python(torchless_python):
    done = run_in(torchless_python, """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        assert shell.run_cell("%load_ext colabmagic").success
        result = shell.run_cell("%train --load mlp-digits")
        print("MAGIC:", type(result.error_in_exec).__name__, result.error_in_exec)
        import colabmagic.train
        try:
            colabmagic.train.load("mlp-digits")
        except Exception as err:
            print("PYTHON:", type(err).__name__, err)
    """)
    line = "torch is not installed: pip install 'colabmagic[train]'"
    assert f"MAGIC: UsageError {line}" in done.stdout, done.stderr
    assert f"PYTHON: MissingExtraError {line}" in done.stdout, done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_train_list_works_without_torch(torchless_python):
    done = run_in(torchless_python, """
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_cell("%load_ext colabmagic")
        assert shell.run_cell("%train --list").success
    """)
    assert done.returncode == 0 and "resnet9" in done.stdout, done.stderr
