"""%%timeit_gpu through a real InteractiveShell: output, options, namespace, errors, and on a GPU, accuracy."""

from __future__ import annotations

import gc

import pytest
from IPython.core.error import UsageError

from colabmagic.timing import TimingResult

from conftest import run_ok
from gpu import cuda_available, gpu, needs_cuda


def ascii_text(text: str) -> str:
    return text.replace("\u00b1", "+-").replace("\u00b5", "u")


def test_prints_median_and_spread_per_loop(shell, capsys):
    run_ok(shell, "%%timeit_gpu -n 10 -r 3\nx = sum(range(1000))")
    out = ascii_text(capsys.readouterr().out)
    assert " +- " in out
    assert "per loop (median +- std. dev. of 3 runs, 10 loops each) on " in out
    if not cuda_available():
        assert out.strip().endswith("on CPU (no CUDA device)")
        # one line, after the cache warning a busy machine's uneven runs may bring (as %timeit's)
        lines = [line for line in out.splitlines() if not line.startswith("The slowest run took ")]
        assert len(lines) == 1, out


def test_o_returns_the_result_with_sane_statistics(shell):
    result = run_ok(shell, "%%timeit_gpu -n 10 -r 3 -q -o\nx = sum(range(1000))")
    assert isinstance(result, TimingResult)
    assert result.loops == 10 and result.repeat == 3 and len(result.all_runs) == 3
    assert 0 < result.best <= result.median <= result.worst
    assert result.stdev >= 0


def test_v_stores_the_result_and_q_prints_nothing(shell, capsys):
    shell.user_ns.pop("timed", None)
    assert run_ok(shell, "%%timeit_gpu -n 5 -r 2 -q -v timed\nx = 1") is None
    assert capsys.readouterr().out == ""
    assert isinstance(shell.user_ns["timed"], TimingResult)
    assert shell.user_ns["timed"].loops == 5


def test_loops_and_repeats_are_honoured(shell):
    run_ok(shell, "calls = []")
    run_ok(shell, "%%timeit_gpu -n 10 -r 3 -q\ncalls.append(1)")
    # one warm-up call, one untimed run, three timed runs
    assert len(shell.user_ns["calls"]) == 1 + 10 + 3 * 10
    run_ok(shell, "calls = []")
    run_ok(shell, "%%timeit_gpu -n 10 -r 3 -q --warmup 0\ncalls.append(1)")
    assert len(shell.user_ns["calls"]) == 3 * 10


def test_autorange_without_n_makes_runs_of_at_least_0_2_s(shell):
    run_ok(shell, "import time")
    result = run_ok(shell, "%%timeit_gpu -r 1 -q -o\ntime.sleep(0.025)")
    assert result.loops == 10  # 1 nap is 25 ms, 10 are 250 ms
    assert result.all_runs[0] >= 0.2


def test_cell_sees_notebook_variables_and_its_assignments_stay_local_like_timeit(shell):
    run_ok(shell, "base = 41")
    for name in ("answer_timeit", "answer_gpu"):
        shell.user_ns.pop(name, None)
    run_ok(shell, "%%timeit -n 2 -r 1\nanswer_timeit = base + 1")
    result = run_ok(shell, "%%timeit_gpu -n 2 -r 1 -q -o\nanswer_gpu = base + 1")
    assert result.loops == 2
    # %%timeit runs the cell as the body of a function: its assignments do not leak; ours neither
    assert "answer_timeit" not in shell.user_ns
    assert "answer_gpu" not in shell.user_ns


def test_setup_code_on_the_magic_line_runs_once_untimed(shell):
    shell.user_ns.pop("data", None)  # the shell is shared: another test may have left a `data` behind
    run_ok(shell, "setups = []")
    result = run_ok(shell, "%%timeit_gpu -n 4 -r 2 -q -o setups.append(1); data = list(range(5))\n"
                           "total = sum(data)")
    assert shell.user_ns["setups"] == [1]
    assert result.loops == 4
    assert "data" not in shell.user_ns


def test_ipython_syntax_inside_the_cell_works(shell):
    run_ok(shell, "seen = []")
    run_ok(shell, "%%timeit_gpu -n 2 -r 1 -q\nhere = %pwd\nseen.append(here)")
    assert len(shell.user_ns["seen"]) == 1 + 2 + 2
    assert all(isinstance(path, str) and path for path in shell.user_ns["seen"])


def test_gc_is_off_in_the_timed_runs_and_back_on_after(shell):
    run_ok(shell, "import gc; flags = []")
    run_ok(shell, "%%timeit_gpu -n 5 -r 2 -q\nflags.append(gc.isenabled())")
    assert shell.user_ns["flags"][-10:] == [False] * 10
    assert gc.isenabled()


def test_slow_first_run_prints_the_cache_warning(shell, capsys):
    run_ok(shell, "import time; calls = []")
    cell = "%%timeit_gpu -n 1 -r 5 --warmup 0\ncalls.append(1)\ntime.sleep(0.02 if len(calls) == 1 else 0)"
    run_ok(shell, cell)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("The slowest run took ")
    assert lines[0].endswith("This could mean that an intermediate result is being cached.")
    assert "per loop" in lines[1]

    run_ok(shell, "calls = []")
    run_ok(shell, cell.replace("--warmup 0", "--warmup 0 -q"))
    assert capsys.readouterr().out == ""


def test_prints_the_cpu_message_without_cuda(shell, capsys):
    if cuda_available():
        pytest.skip("this machine has CUDA")
    result = run_ok(shell, "%%timeit_gpu -n 3 -r 2 -o\nx = 1")
    assert result.backend == "cpu" and result.device == "CPU (no CUDA device)"
    assert "on CPU (no CUDA device)" in capsys.readouterr().out


def test_an_unavailable_cuda_is_worded_as_train_words_it(shell, workdir):
    """runtime.py words why a device cannot be used, for timing and %train alike."""
    if cuda_available():
        pytest.skip("this machine has CUDA: nothing to refuse")
    from colabmagic.errors import DeviceError
    from colabmagic.timing import time_callable

    trained = shell.run_cell("%train cnn digits --device cuda", store_history=False)
    assert type(trained.error_in_exec) is UsageError
    with pytest.raises(DeviceError) as timed:
        time_callable(lambda: None, device="cuda")
    assert str(timed.value) == str(trained.error_in_exec)
    assert str(timed.value).startswith("device cuda is not available (")
    with pytest.raises(DeviceError) as graph:  # timing's own limit, for the same reason
        time_callable(lambda: None, graph=True)
    reason = str(timed.value).split("(", 1)[1].split(")", 1)[0]
    assert f"--graph needs a CUDA device ({reason})" in str(graph.value)


@pytest.mark.parametrize("line, message", [
    ("-n 0", "the number of loops per run (-n) must be a whole number >= 1, not 0"),
    ("-r -1", "the number of runs (-r) must be a whole number >= 1, not -1"),
    ("--warmup -2", "(--warmup) must be a whole number >= 0, not -2"),
    ("--bogus", "unrecognized arguments: --bogus"),
    ("-n many", "invalid int value: 'many'"),
    ("-v 1abc", "-v needs a Python variable name"),
])
def test_bad_arguments_are_one_line_usage_errors(shell, line, message):
    run_ok(shell, "calls = []")
    result = shell.run_cell(f"%%timeit_gpu {line}\ncalls.append(1)", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert message in str(result.error_in_exec)
    assert "\n" not in str(result.error_in_exec)
    assert shell.user_ns["calls"] == []


def test_graph_without_cuda_is_a_usage_error(shell):
    if cuda_available():
        pytest.skip("this machine has CUDA")
    result = shell.run_cell("%%timeit_gpu --graph\nx = 1", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert str(result.error_in_exec).startswith("--graph needs a CUDA device")


def test_empty_cell_is_a_usage_error(shell):
    result = shell.run_cell("%%timeit_gpu -n 1\n\n", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "nothing to time" in str(result.error_in_exec)


def test_an_error_in_the_cell_keeps_its_own_traceback(shell, capsys):
    result = shell.run_cell("%%timeit_gpu -n 2\nx = 1\n1 / 0", store_history=False)
    assert type(result.error_in_exec) is ZeroDivisionError
    out = capsys.readouterr().out
    assert "ZeroDivisionError" in out
    assert "1 / 0" in out  # the user's own line is shown
    assert gc.isenabled()


def traceback_frame(out: str) -> list[str]:
    """The source lines shown for the cell's own frame, without colours or the arrow."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", out)
    frame = text.split("in _timeit_gpu_cell()", 1)[1].split("\n\n", 1)[0]
    return [re.sub(r"^(-*>)?\s*\d+ ", "", line) for line in frame.strip("\n").splitlines()]


def test_a_traceback_shows_the_cell_as_typed_without_injected_lines(shell, capsys):
    result = shell.run_cell("%%timeit_gpu -n 1 -r 1\nx = 1\n1 / 0", store_history=False)
    assert type(result.error_in_exec) is ZeroDivisionError
    assert traceback_frame(capsys.readouterr().out) == ["%%timeit_gpu -n 1 -r 1", "x = 1", "1 / 0"]


def test_an_error_in_the_setup_points_at_the_magic_line(shell, capsys):
    result = shell.run_cell("%%timeit_gpu -n 1 -r 1 y = 2; z = 1 / 0\nx = y", store_history=False)
    assert type(result.error_in_exec) is ZeroDivisionError
    out = capsys.readouterr().out
    assert traceback_frame(out)[0] == "%%timeit_gpu -n 1 -r 1 y = 2; z = 1 / 0"
    assert "pass" not in out


def test_a_syntax_error_in_the_setup_points_at_its_place_on_the_line(shell):
    line = '%%timeit_gpu -n 1 -r 1 s = "open'
    result = shell.run_cell(line + "\nx = 1", store_history=False)
    err = result.error_in_exec
    assert isinstance(err, SyntaxError) and err.lineno == 1
    assert err.text.rstrip("\n") == line
    assert line[err.offset - 1] == '"'  # the caret sits under the unclosed quote


def test_a_syntax_error_in_the_cell_is_reported_as_one(shell):
    result = shell.run_cell("%%timeit_gpu -n 2\nreturn 3", store_history=False)
    assert isinstance(result.error_in_exec, SyntaxError)


# --- on a GPU: agreement with torch.utils.benchmark.Timer -------------------------------------------

@gpu
@needs_cuda
@pytest.mark.parametrize("options", ["", "--no-flush", "--graph"])
def test_matmul_4096_agrees_with_torch_benchmark_timer(shell, options):
    import torch
    from torch.utils.benchmark import Timer

    run_ok(shell, "import torch\na = torch.randn(4096, 4096, device='cuda')\nb = torch.randn(4096, 4096, device='cuda')")
    a, b = shell.user_ns["a"], shell.user_ns["b"]
    peer = Timer("a @ b", globals={"a": a, "b": b}).blocked_autorange(min_run_time=2).median
    result = run_ok(shell, f"%%timeit_gpu {options} -q -o\nc = a @ b")
    assert result.backend == "cuda" and result.graph == (options == "--graph")
    assert result.flush_l2 == (options != "--no-flush")
    assert result.peak_memory >= 4096 * 4096 * 4  # the output matrix
    assert result.median == pytest.approx(peer, rel=0.05)
    del a, b
    shell.user_ns.pop("a"), shell.user_ns.pop("b")
    torch.cuda.empty_cache()


@gpu
@needs_cuda
def test_graph_capture_failure_is_one_usage_error(shell):
    run_ok(shell, "import torch\nv = torch.ones(8, device='cuda')")
    result = shell.run_cell("%%timeit_gpu --graph -n 1 -r 1\ns = v.sum().item()", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "could not be captured into a CUDA graph" in str(result.error_in_exec)
    assert "\n" not in str(result.error_in_exec)


@gpu
@needs_cuda
def test_the_setup_allocates_on_the_gpu_that_is_timed(shell):
    """%runtime cuda:1, then a setup with device='cuda': its tensors must be on GPU 1, where the events
    are recorded (the setup ran before that GPU was made current, so they landed on GPU 0)."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    from colabmagic import runtime

    runtime.select("cuda:1")
    try:
        run_ok(shell, "%%timeit_gpu -n 1 -r 1 import torch; x = torch.ones(8, device='cuda')\n"
                      "assert x.device.index == torch.cuda.current_device() == 1")
    finally:
        runtime.select("auto")


@gpu
@needs_cuda
def test_the_flush_really_makes_a_memory_bound_cell_slower(shell):
    """Checked for effect, not for the buffer's size: reading half an L2's worth of data is clearly
    slower from a flushed L2 (-n 1: every loop starts cold) than from a warm one."""
    import torch

    l2 = torch.cuda.get_device_properties(torch.cuda.current_device()).L2_cache_size
    run_ok(shell, f"import torch\nv = torch.ones({max(l2 // 8, 1 << 18)}, device='cuda')")  # float32: L2 / 2
    warm = run_ok(shell, "%%timeit_gpu --no-flush -n 1 -r 30 -q -o\nv.sum()")
    cold = run_ok(shell, "%%timeit_gpu -n 1 -r 30 -q -o\nv.sum()")
    assert cold.median > 1.1 * warm.median, (cold.median, warm.median)
    shell.user_ns.pop("v")
