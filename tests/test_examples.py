"""The notebooks in examples/ run top to bottom in a real kernel (nbclient)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def execute(name: str, workdir: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return notebook


def text_of(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.slow
def test_train_notebook_runs_and_reaches_target(tmp_path):
    notebook = execute("train.ipynb", tmp_path)
    outputs = "\n".join(text_of(cell) for cell in notebook.cells if cell.cell_type == "code")
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", outputs).group(1))
    assert accuracy >= 99.0
    assert "resnet9" in outputs and "digits" in outputs     # %train --list
    assert (tmp_path / "runs").is_dir()                       # logs and checkpoints land in the notebook's folder
