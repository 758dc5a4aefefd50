"""A Colab-style notebook with forms, executed headless: by nbclient in a real kernel (the forms
appear as widgets, their state saved with the notebook; a bad annotation is one stderr line and
its cell still runs), and as papermill's parameters cell: tagged by `python -m
colabmagic.colab.form_parameters`, then run with other values (papermill itself where it is
installed, else the cell papermill would inject, run by nbclient)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from colabmagic.colab.form_parameters import tag_file, tag_parameters
from test_colab_forms_parser import COLAB_EXAMPLE

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

HYPER = ('#@title Hyperparameters\n'
         '#@markdown Learning rate and epochs, as Colab tutorials write them.\n'
         'lr = 0.1 #@param {type:"number"}\n'
         'epochs = 3 #@param {type:"slider", min:1, max:20}\n'
         'model = "cnn" #@param ["cnn", "mlp"]\n'
         'dropout = 0.5 #@param {type:"colour"}\n'
         'print("configured")')
RESULT = ('import json\nprint(json.dumps({"lr": lr, "epochs": epochs, "model": model, "dropout": dropout,'
          ' "number_slider": number_slider, "raw_dropdown": raw_dropdown}))')


def colab_notebook() -> nbformat.NotebookNode:
    """As Colab downloads one: its `colab` metadata block, forms in the first cells."""
    cells = [nbformat.v4.new_code_cell("from colabmagic.colab import forms\nforms.enable(get_ipython())"),
             nbformat.v4.new_code_cell(HYPER),
             nbformat.v4.new_code_cell(COLAB_EXAMPLE),
             nbformat.v4.new_code_cell(RESULT)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata.update({"colab": {"provenance": []}, "accelerator": "None",
                              "kernelspec": {"name": "python3", "display_name": "Python 3"},
                              "language_info": {"name": "python"}})
    return notebook


def execute(notebook, tmp_path) -> nbformat.NotebookNode:
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    return client.execute(env={**os.environ, "PYTHONPATH": str(ROOT)})  # the kernel imports this checkout


def printed(cell, name="stdout") -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == name)


def result(notebook) -> dict:
    return json.loads(printed(notebook.cells[-1]).strip().splitlines()[-1])


def test_a_colab_notebook_runs_with_its_forms(tmp_path):
    done = execute(colab_notebook(), tmp_path)
    hyper, example = done.cells[1], done.cells[2]
    assert "configured" in printed(hyper)
    assert printed(hyper, "stderr").strip() == (
        "colabmagic: form annotation on line 6: unknown field type 'colour' (string, number, integer, "
        "slider, boolean, date, raw); the cell runs without it")
    views = [o for cell in (hyper, example) for o in cell.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2  # one form per form cell, first in its output
    assert result(done) == {"lr": 0.1, "epochs": 3, "model": "cnn", "dropout": 0.5, "number_slider": 0,
                            "raw_dropdown": None}
    # the saved widget state draws the forms in any viewer: the slider, the dropdown's choices
    states = [m["state"] for m in done.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()]
    (epochs,) = [s for s in states if s.get("description") == "epochs"]
    assert (epochs["_model_name"], epochs["value"], epochs["min"], epochs["max"]) == ("IntSliderModel", 3, 1, 20)
    (model,) = [s for s in states if s.get("description") == "model"]
    assert model["_options_labels"] == ["cnn", "mlp"] and model["index"] == 0
    (date,) = [s for s in states if s.get("description") == "date_input"]
    assert date["value"] == {"year": 2018, "month": 2, "date": 22}  # JavaScript's months count from 0


def test_the_form_cell_becomes_the_parameters_cell(tmp_path):
    path = tmp_path / "colab.ipynb"
    nbformat.write(colab_notebook(), path)
    tagged = tmp_path / "tagged.ipynb"
    out = subprocess.run([sys.executable, "-m", "colabmagic.colab.form_parameters", str(path), "-o", str(tagged)],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    assert out.stdout.strip().startswith("tagged cell 2 (lr, epochs, model) as papermill's parameters cell; "
                                         "set in later form cells, so papermill -p cannot change: text, dropdown")
    notebook = nbformat.read(tagged, as_version=4)
    assert [c.metadata.get("tags", []) for c in notebook.cells] == [[], ["parameters"], [], []]
    assert str(tag_parameters(notebook)) == ("cell 2 is papermill's parameters cell already; set in later form "
                                             "cells, so papermill -p cannot change: " +
                                             ", ".join(f.strip().split(" ")[0] for f in COLAB_EXAMPLE.split("\n")
                                                       if "@param" in f))
    assert tag_file(tagged).already and nbformat.read(tagged, as_version=4) == notebook  # not written again
    plain = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    assert str(tag_parameters(plain)) == "no form cell with #@param fields: nothing to tag"


def test_a_bad_notebook_path_is_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "colabmagic.colab.form_parameters", str(tmp_path / "none.ipynb")],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stderr.startswith("error: cannot read")


def inject_as_papermill(notebook, parameters: dict) -> None:
    """What papermill does with -p: a cell of assignments right after the `parameters` cell."""
    (at,) = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    source = "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in parameters.items())
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))


def test_other_values_run_headless_through_the_parameters_cell(tmp_path):
    notebook = colab_notebook()
    tag_parameters(notebook)
    inject_as_papermill(notebook, {"lr": 0.01, "epochs": 12})
    values = result(execute(notebook, tmp_path))
    assert (values["lr"], values["epochs"], values["model"]) == (0.01, 12, "cnn")


def test_papermill_runs_the_tagged_notebook_with_p(tmp_path, monkeypatch):
    papermill = pytest.importorskip("papermill", reason="papermill is not installed (the lead adds it to the lock)")
    path = tmp_path / "colab.ipynb"
    nbformat.write(colab_notebook(), path)
    tag_file(path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    papermill.execute_notebook(str(path), str(tmp_path / "out.ipynb"), parameters={"lr": 0.01, "model": "mlp"},
                               kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    done = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "injected-parameters" in done.cells[2].metadata.tags
    values = result(done)
    assert (values["lr"], values["model"], values["epochs"]) == (0.01, "mlp", 3)
