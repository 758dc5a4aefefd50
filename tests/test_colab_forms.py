"""Colab forms in a real InteractiveShell (widgets through their Python objects), then in a real
ipykernel driven over its ZeroMQ channels as a frontend would: a widget update from the
"browser", and the `colabmagic.forms` comm answered as colabmagic's JupyterLab extension answers it."""

from __future__ import annotations

import os
import queue
import time
from pathlib import Path

import pytest

from colabmagic.colab import forms
from conftest import run_ok

ROOT = Path(__file__).resolve().parent.parent

CELL = '''#@title Training { run: "auto" }
#@markdown Choose the **hyperparameters**.
epochs = 3 #@param {type:"slider", min:1, max:10}
lr = 0.1 #@param {type:"number"}
optimizer = "sgd" #@param ["sgd", "adam"]
layers = [64, 32] #@param {type:"raw"}
runs.append((epochs, lr, optimizer, layers))
'''


@pytest.fixture
def form_shell(shell, published):
    forms.enable(shell)
    shell.user_ns["runs"] = []
    yield shell
    forms.disable(shell)


def only_form(shell):
    (bound,) = forms.active(shell).values()
    return bound


def test_a_form_cell_shows_its_widgets_bound_to_the_variables(form_shell, published):
    run_ok(form_shell, CELL)
    bound = only_form(form_shell)
    widget_views = [data for data, _, _ in published if "application/vnd.jupyter.widget-view+json" in data]
    assert [v["application/vnd.jupyter.widget-view+json"]["model_id"] for v in widget_views] == [bound.view.widget.model_id]
    controls = bound.view.controls
    assert {name: type(c).__name__ for name, c in controls.items()} == \
        {"epochs": "IntSlider", "lr": "FloatText", "optimizer": "Dropdown", "layers": "Text"}
    assert (controls["epochs"].value, controls["lr"].value, controls["layers"].value) == (3, 0.1, "[64, 32]")
    assert controls["optimizer"].label == "sgd"
    assert (controls["epochs"].min, controls["epochs"].max, controls["epochs"].description) == (1, 10, "epochs")
    assert form_shell.user_ns["runs"] == [(3, 0.1, "sgd", [64, 32])]


def test_changing_a_field_sets_the_variable_and_run_auto_reruns(form_shell):
    run_ok(form_shell, CELL)
    bound = only_form(form_shell)
    bound.view.controls["epochs"].value = 7
    assert form_shell.user_ns["epochs"] == 7
    assert form_shell.user_ns["runs"][-1] == (7, 0.1, "sgd", [64, 32])  # the cell ran again with it
    assert "epochs = 7 #@param" in bound.source
    bound.view.controls["optimizer"].value = 1
    bound.view.controls["layers"].value = "[128] * 2"
    assert form_shell.user_ns["runs"][-1] == (7, 0.1, "adam", [128, 128])
    assert bound.source.split("\n")[4:6] == ['optimizer = "adam" #@param ["sgd", "adam"]',
                                             'layers = [128] * 2 #@param {type:"raw"}']
    assert len(forms.active(form_shell)) == 1  # a re-run keeps its form, it does not add one


def test_without_run_auto_only_the_variable_changes(form_shell):
    run_ok(form_shell, CELL.replace(' { run: "auto" }', ""))
    bound = only_form(form_shell)
    bound.view.controls["lr"].value = 0.5
    assert form_shell.user_ns["lr"] == 0.5
    assert form_shell.user_ns["runs"] == [(3, 0.1, "sgd", [64, 32])]  # not re-run
    assert "lr = 0.5 #@param" in bound.source


def test_the_form_shows_what_the_cell_set(form_shell):
    run_ok(form_shell, 'size = 8 #@param {type:"integer"}\nsize = size * 2\nflag = True #@param {type:"boolean"}\nflag = "no"')
    bound = only_form(form_shell)
    assert bound.view.controls["size"].value == 16          # the variable's value after the run
    assert bound.view.controls["flag"].value is True        # "no" does not fit a checkbox: the source's
    assert form_shell.user_ns["runs"] == []                  # showing a value changed nothing else


def test_a_raw_value_python_cannot_read_says_so_in_the_form(form_shell):
    run_ok(form_shell, CELL)
    bound = only_form(form_shell)
    bound.view.controls["layers"].value = "[1, 2"
    assert form_shell.user_ns["layers"] == [64, 32] and len(form_shell.user_ns["runs"]) == 1
    (said,) = [o["text"] for o in bound.view.output.outputs if o.get("name") == "stderr"]
    assert said.startswith("layers: [1, 2 is not a Python value here: SyntaxError")


def test_a_bad_annotation_warns_in_one_line_and_the_cell_runs(form_shell, capsys):
    run_ok(form_shell, 'a = 1 #@param {type:"colour"}\nb = 2 #@param {type:"integer"}\nran = a + b')
    assert form_shell.user_ns["ran"] == 3
    err = capsys.readouterr().err.strip()
    assert err == ("colabmagic: form annotation on line 1: unknown field type 'colour' (string, number, "
                   "integer, slider, boolean, date, raw); the cell runs without it")
    assert list(only_form(form_shell).view.controls) == ["b"]


def test_every_kind_gets_its_widget(form_shell):
    from test_colab_forms_parser import COLAB_EXAMPLE

    run_ok(form_shell, COLAB_EXAMPLE)
    controls = only_form(form_shell).view.controls
    assert {n: type(c).__name__ for n, c in controls.items()} == {
        "text": "Text", "dropdown": "Dropdown", "text_and_dropdown": "Combobox", "raw_input": "Text",
        "raw_dropdown": "Dropdown", "date_input": "DatePicker", "number_input": "FloatText",
        "number_slider": "FloatSlider", "integer_input": "IntText", "integer_slider": "IntSlider",
        "boolean_checkbox": "Checkbox", "boolean_dropdown": "Dropdown"}
    assert str(controls["date_input"].value) == "2018-03-22"
    assert controls["raw_dropdown"].label == "raw_input" and controls["boolean_dropdown"].label == "True"
    controls["text_and_dropdown"].value = "typed here"
    controls["date_input"].value = __import__("datetime").date(2020, 1, 2)
    assert form_shell.user_ns["text_and_dropdown"] == "typed here" and form_shell.user_ns["date_input"] == "2020-01-02"


def test_enable_and_disable_are_idempotent(shell, published):
    forms.enable(shell)
    forms.enable(shell)
    run_ok(shell, 'x = 1 #@param {type:"integer"}')
    assert len(published) == 1 and forms.enabled(shell)
    forms.disable(shell)
    forms.disable(shell)
    assert not forms.enabled(shell) and forms.active(shell) == {}
    run_ok(shell, 'x = 1 #@param {type:"integer"}')
    assert len(published) == 1  # no form once disabled


# --- a real kernel, its frontend played over ZeroMQ -------------------------------------------

@pytest.fixture
def kernel(tmp_path):
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(ROOT)})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def execute(kc, code: str, cell_id: str | None = None) -> list[dict]:
    """Run CODE as JupyterLab does (the cell's id in the request's metadata); its iopub messages."""
    content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    msg = kc.session.msg("execute_request", content, metadata={"cellId": cell_id} if cell_id else {})
    kc.shell_channel.send(msg)
    return until_idle(kc, msg["header"]["msg_id"])


def until_idle(kc, parent_id: str) -> list[dict]:
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            message = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if message["parent_header"].get("msg_id") != parent_id:
            continue
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return seen
        seen.append(message)
    raise AssertionError(f"no idle after {parent_id}: {[m['msg_type'] for m in seen]}")


def send_comm(kc, comm_id: str, data: dict) -> list[dict]:
    """A comm message from the 'frontend'; the iopub messages the kernel answers it with."""
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)
    return until_idle(kc, msg["header"]["msg_id"])


def opened(messages, target: str) -> list[dict]:
    return [m["content"] for m in messages if m["msg_type"] == "comm_open" and m["content"]["target_name"] == target]


def slider_id(messages, name: str) -> str:
    (comm_id,) = [c["comm_id"] for c in opened(messages, "jupyter.widget")
                  if c["data"]["state"].get("description") == name and "Slider" in c["data"]["state"]["_model_name"]]
    return comm_id


def stdout(messages) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


FORM_CELL = '#@title T { run: "auto", display-mode: "form" }\nn = 2 #@param {type:"slider", min:0, max:10}\nprint("ran with", n)'


@pytest.mark.slow
def test_in_a_kernel_without_the_extension_the_kernel_reruns_the_cell(kernel):
    execute(kernel, "from colabmagic.colab import forms; forms.enable(get_ipython())")
    messages = execute(kernel, FORM_CELL, cell_id="cell-a")
    assert "ran with 2" in stdout(messages)
    (channel,) = opened(messages, "colabmagic.forms")
    assert channel["data"] == {"version": 1, "cell_id": "cell-a", "display_mode": "form", "has_fields": True}
    # nobody answered `ready`: the kernel re-runs the cell itself, its output in the form's Output
    answer = send_comm(kernel, slider_id(messages, "n"), {"method": "update", "state": {"value": 5}, "buffer_paths": []})
    assert "ran with 5" in stdout(answer)
    check = execute(kernel, "print('n is', n)")
    assert "n is 5" in stdout(check)


@pytest.mark.slow
def test_in_a_kernel_with_the_extension_the_edit_goes_to_the_frontend(kernel):
    execute(kernel, "from colabmagic.colab import forms; forms.enable(get_ipython())")
    messages = execute(kernel, FORM_CELL, cell_id="cell-b")
    (channel,) = opened(messages, "colabmagic.forms")
    send_comm(kernel, channel["comm_id"], {"event": "ready"})
    answer = send_comm(kernel, slider_id(messages, "n"), {"method": "update", "state": {"value": 9}, "buffer_paths": []})
    edits = [m["content"]["data"] for m in answer if m["msg_type"] == "comm_msg"
             and m["content"]["comm_id"] == channel["comm_id"]]
    assert edits == [{"event": "edit", "seq": 1, "line": 1, "run": True,
                      "old": 'n = 2 #@param {type:"slider", min:0, max:10}',
                      "new": 'n = 9 #@param {type:"slider", min:0, max:10}'}]
    assert "ran with" not in stdout(answer)  # the frontend re-runs it, in the notebook
    # a cell edited since it ran: the extension refuses the edit, the form says so
    refused = send_comm(kernel, channel["comm_id"], {"event": "edit-failed", "seq": 1, "message": "run the cell again"})
    outputs = [m["content"]["data"]["state"]["outputs"] for m in refused if m["msg_type"] == "comm_msg"
               and "outputs" in m["content"]["data"].get("state", {})]
    assert outputs[-1] == [{"output_type": "stream", "name": "stderr", "text": "run the cell again\n"}]
    assert "n is 9" in stdout(execute(kernel, "print('n is', n)"))
    # the cell run again (by the frontend) replaces its form and its channel
    again = execute(kernel, FORM_CELL.replace("n = 2", "n = 9"), cell_id="cell-b")
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == channel["comm_id"] for m in again)
    assert "ran with 9" in stdout(again)


def test_enabling_forms_imports_no_widgets_until_a_form_cell_runs():
    """%colab_compat may turn forms on at %load_ext, which stays light (test_extension.py)."""
    import subprocess
    import sys

    probe = ("import sys\nfrom IPython.core.interactiveshell import InteractiveShell\n"
             "shell = InteractiveShell.instance()\nfrom colabmagic.colab import forms\nforms.enable(shell)\n"
             "shell.run_cell('x = 1  # a plain cell')\nprint('before', 'ipywidgets' in sys.modules)\n"
             "shell.run_cell('y = 2 #@param {type:\"integer\"}')\nprint('after', 'ipywidgets' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert "before False" in out and "after True" in out
