"""colabmagic.timing from plain Python: counts, autorange, gc, statistics, formatting, CUDA paths."""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import time

import pytest

from colabmagic import timing
from colabmagic.errors import ConfigError, DeviceError
from colabmagic.timing import TimingResult, format_bytes, format_time, time_callable
from gpu import cuda_available, gpu, needs_cuda


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return sum(range(50))


def test_loops_repeats_and_default_warmup_are_honoured():
    fn = Counter()
    result = time_callable(fn, number=20, repeat=4)
    # one warm-up call, one untimed run of 20, then 4 timed runs of 20
    assert fn.calls == 1 + 20 + 4 * 20
    assert result.loops == 20 and result.repeat == 4 and len(result.all_runs) == 4
    assert result.timings == pytest.approx([run / 20 for run in result.all_runs])
    assert 0 < result.best <= result.median <= result.worst
    assert result.best <= result.mean <= result.worst
    assert result.average == result.mean
    assert result.stdev >= 0
    assert result.stdev == pytest.approx(statistics.pstdev(result.timings))


def test_explicit_warmup_is_the_number_of_untimed_calls():
    fn = Counter()
    time_callable(fn, number=5, repeat=2, warmup=3)
    assert fn.calls == 3 + 5 * 2
    fn = Counter()
    time_callable(fn, number=5, repeat=2, warmup=0)
    assert fn.calls == 5 * 2


def test_autorange_makes_each_run_last_at_least_0_2_s():
    def nap():
        time.sleep(0.003)

    result = time_callable(nap, repeat=2)
    # 1 and 10 naps are under 0.2 s, 100 are over
    assert result.loops == 100
    assert all(run >= timing.MIN_RUN_SECONDS for run in result.all_runs)
    assert result.median >= 0.003


def test_on_cpu_says_so():
    result = time_callable(Counter(), number=10, repeat=3, device="cpu")
    assert result.backend == "cpu" and result.device == "CPU"
    assert result.peak_memory is None and not result.flush_l2 and not result.graph
    if not cuda_available():
        auto = time_callable(Counter(), number=10, repeat=3)
        assert auto.backend == "cpu" and auto.device == "CPU (no CUDA device)"
        assert "on CPU (no CUDA device)" in str(auto)


def test_gc_is_off_while_timing_and_restored_after():
    seen = []
    assert gc.isenabled()
    time_callable(lambda: seen.append(gc.isenabled()), number=3, repeat=2, warmup=0)
    assert seen == [False] * 6
    assert gc.isenabled()

    gc.disable()
    try:
        time_callable(lambda: None, number=3, repeat=2)
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_an_exception_in_the_code_propagates_and_gc_comes_back():
    calls = []

    def breaks_in_the_timed_runs():
        calls.append(1)
        if len(calls) > 2:
            raise KeyError("user bug")

    with pytest.raises(KeyError, match="user bug"):
        time_callable(breaks_in_the_timed_runs, number=1, repeat=3, warmup=0)
    assert gc.isenabled()


def test_slowest_run_far_slower_than_fastest_gives_the_cache_warning():
    calls = []

    def slow_first_time():
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.02)

    result = time_callable(slow_first_time, number=1, repeat=5, warmup=0)
    assert result.worst > 4 * result.best
    assert result.cache_warning.startswith("The slowest run took ")
    assert result.cache_warning.endswith("This could mean that an intermediate result is being cached.")

    steady = time_callable(lambda: time.sleep(0.002), number=1, repeat=5)
    assert steady.cache_warning is None


@pytest.mark.parametrize("options, message", [
    ({"number": 0}, "(-n) must be a whole number >= 1, not 0"),
    ({"number": 2.5}, "(-n) must be a whole number >= 1, not 2.5"),
    ({"repeat": -1}, "(-r) must be a whole number >= 1, not -1"),
    ({"repeat": 0}, "(-r) must be a whole number >= 1, not 0"),
    ({"warmup": -1}, "(--warmup) must be a whole number >= 0, not -1"),
])
def test_bad_counts_are_config_errors(options, message):
    fn = Counter()
    with pytest.raises(ConfigError) as caught:
        time_callable(fn, **options)
    assert message in str(caught.value)
    assert fn.calls == 0


def test_graph_without_cuda_is_a_device_error():
    with pytest.raises(DeviceError, match="--graph needs a CUDA device"):
        time_callable(Counter(), graph=True, device="cpu")
    if not cuda_available():
        with pytest.raises(DeviceError, match="^--graph needs a CUDA device"):
            time_callable(Counter(), graph=True)
        with pytest.raises(DeviceError, match=r"^device cuda:0 is not available \("):
            time_callable(Counter(), device="cuda:0")


def test_without_torch_nothing_imports_torch_or_ipython():
    # find_spec reporting no torch stands for a machine where torch is not installed
    probe = """
import sys
import colabmagic.timing as timing
assert "IPython" not in sys.modules and "torch" not in sys.modules
import colabmagic.runtime.torch_devices as runtime
real_find_spec = runtime.find_spec
runtime.find_spec = lambda name: None if name == "torch" else real_find_spec(name)
result = timing.time_callable(lambda: sum(range(100)), number=10, repeat=3)
assert result.backend == "cpu" and result.device == "CPU (no CUDA device)", result
try:
    timing.time_callable(lambda: None, graph=True)
except timing.DeviceError as err:
    assert "--graph needs a CUDA device" in str(err) and "torch is not installed" in str(err)
else:
    raise AssertionError("--graph without torch did not fail")
try:
    timing.time_callable(lambda: None, device="cuda")
except timing.DeviceError as err:
    assert str(err) == "device cuda is not available (torch is not installed): use device cpu or auto", err
else:
    raise AssertionError("device='cuda' without torch did not fail")
assert "torch" not in sys.modules
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_result_prints_like_timeit():
    result = TimingResult(all_runs=[0.123, 0.124, 0.125], loops=100, repeat=3, backend="cpu",
                          device="CPU (no CUDA device)")
    text = str(result)
    assert text.replace("\u00b1", "+-").replace("\u00b5", "u") == (
        "1.24 ms +- 8.16 us per loop (median +- std. dev. of 3 runs, 100 loops each) on CPU (no CUDA device)")
    one = TimingResult(all_runs=[2.0], loops=1, repeat=1, backend="cpu", device="CPU")
    assert "(median " in str(one) and "of 1 run, 1 loop each) on CPU" in str(one)

    class Printer:
        def __init__(self):
            self.parts = []

        def text(self, part):
            self.parts.append(part)

    printer = Printer()
    result._repr_pretty_(printer, False)
    assert "".join(printer.parts) == text


@pytest.mark.parametrize("runs, median", [
    ([1.0, 1.1, 1.2, 9.0, 30.0], 0.12),  # odd count: the middle run, far below the mean (0.846)
    ([1.0, 2.0, 3.0, 100.0], 0.25),      # even count: halfway between the middle two, far below the mean (2.65)
    ([30.0, 1.2, 1.0, 9.0, 1.1], 0.12),  # order of the runs does not matter
])
def test_median_of_skewed_runs_is_the_median_not_the_mean(runs, median):
    result = TimingResult(all_runs=runs, loops=10, repeat=len(runs), backend="cpu", device="CPU")
    assert result.median == pytest.approx(median)
    assert result.mean == pytest.approx(sum(runs) / len(runs) / 10)
    assert result.mean > 2 * result.median
    assert str(result).startswith(format_time(median) + " ")


def test_median_of_real_skewed_runs(capsys):
    calls = []

    def two_slow_runs():  # runs 1 and 2 of 5 nap 30 ms, the others do nothing
        calls.append(1)
        if len(calls) <= 2:
            time.sleep(0.03)

    result = time_callable(two_slow_runs, number=1, repeat=5, warmup=0)
    assert sorted(result.timings)[2] == result.median
    assert result.median < 0.005 < result.mean
    assert str(result).startswith(format_time(statistics.median(result.timings)) + " ")


def test_cuda_result_shows_memory_flush_and_graph():
    result = TimingResult(all_runs=[0.01] * 7, loops=10, repeat=7, backend="cuda", device="NVIDIA H100 80GB HBM3",
                          flush_l2=True, graph=True, peak_memory=64 * 2**20, memory_before=3 * 2**30)
    first, second = str(result).splitlines()
    assert first.endswith("per loop (median \u00b1 std. dev. of 7 runs, 10 loops each) on NVIDIA H100 80GB HBM3") \
        or first.endswith("per loop (median +- std. dev. of 7 runs, 10 loops each) on NVIDIA H100 80GB HBM3")
    assert first.startswith("1 ms ")
    assert second == ("peak memory 64.0 MiB above the 3.0 GiB already allocated, L2 flushed before each run "
                      "(its first loop of 10 starts cold; -n 1: all), CUDA graph replay")
    single = TimingResult(all_runs=[0.01] * 7, loops=1, repeat=7, backend="cuda", device="T4", flush_l2=True)
    assert str(single).splitlines()[1] == "L2 flushed before each run"


@pytest.mark.parametrize("seconds, text", [
    (0.0, "0 ns"), (3.5e-10, "0.35 ns"), (1.234e-9, "1.23 ns"), (4.56e-6, "4.56 us"), (9.9996e-7, "1 us"),
    (1.23e-3, "1.23 ms"), (0.5, "500 ms"), (1.0, "1 s"), (75.25, "75.2 s"), (1500.0, "1500 s"),
])
def test_format_time_uses_three_significant_digits(seconds, text):
    assert format_time(seconds).replace("\u00b5", "u") == text


def test_format_bytes():
    assert format_bytes(512) == "512 B"
    assert format_bytes(1536) == "1.5 KiB"
    assert format_bytes(64 * 2**20) == "64.0 MiB"
    assert format_bytes(80 * 2**30) == "80.0 GiB"


# --- CUDA: these run on a GPU machine -------------------------------------------------------------

@gpu
@needs_cuda
def test_cuda_events_count_asynchronous_gpu_work():
    import torch

    cycles = 10_000_000
    torch.cuda._sleep(cycles)  # first launch loads the kernel
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    torch.cuda._sleep(cycles)
    end.record()
    torch.cuda.synchronize()
    expected = start.elapsed_time(end) / 1e3

    # the call returns at once on the CPU; only events see the kernel's time
    result = time_callable(lambda: torch.cuda._sleep(cycles), number=5, repeat=3, flush_l2=False)
    assert result.backend == "cuda" and result.device == torch.cuda.get_device_name()
    assert result.median == pytest.approx(expected, rel=0.1)


@gpu
@needs_cuda
def test_flush_buffer_is_twice_the_l2_at_least_256_mib_and_allocated_once():
    import torch

    index = torch.cuda.current_device()
    time_callable(lambda: None, number=1, repeat=2)
    buffer = timing._flush_buffers[index]
    l2 = torch.cuda.get_device_properties(index).L2_cache_size
    assert buffer.numel() * buffer.element_size() == timing.flush_bytes(l2) >= 2 * l2
    result = time_callable(lambda: None, number=1, repeat=2)
    assert timing._flush_buffers[index] is buffer
    assert result.flush_l2
    assert not time_callable(lambda: None, number=1, repeat=2, flush_l2=False).flush_l2


@gpu
@needs_cuda
def test_peak_memory_is_what_the_code_allocates_on_top():
    import torch

    held = torch.empty(32 * 2**20, dtype=torch.uint8, device="cuda")
    size = 64 * 2**20
    result = time_callable(lambda: torch.empty(size, dtype=torch.uint8, device="cuda"), number=2, repeat=2)
    assert result.memory_before >= held.numel()
    assert size <= result.peak_memory < size + 8 * 2**20


@gpu
@needs_cuda
def test_graph_replay_times_the_captured_work():
    import torch

    a = torch.randn(2048, 2048, device="cuda")
    b = torch.randn(2048, 2048, device="cuda")
    eager = time_callable(lambda: a @ b, number=50, repeat=5, flush_l2=False)
    graphed = time_callable(lambda: a @ b, number=50, repeat=5, flush_l2=False, graph=True)
    assert graphed.graph and graphed.backend == "cuda"
    assert graphed.median == pytest.approx(eager.median, rel=0.1)


@gpu
@needs_cuda
def test_graph_capture_of_a_cpu_sync_is_a_config_error_and_leaves_cuda_usable():
    import torch

    x = torch.ones(16, device="cuda")
    with pytest.raises(ConfigError, match="could not be captured into a CUDA graph"):
        time_callable(lambda: (x * 2).sum().item(), number=1, repeat=1, graph=True)
    assert torch.cuda.current_stream() == torch.cuda.default_stream()
    assert time_callable(lambda: x * 2, number=5, repeat=2, graph=True).graph


@gpu
@needs_cuda
def test_graph_of_a_cell_without_cuda_work_is_a_config_error():
    with pytest.raises(ConfigError, match="graph is empty"):
        time_callable(lambda: sum(range(10)), number=1, repeat=1, graph=True)


@pytest.mark.parametrize("l2, expected", [(4 << 20, 256 << 20), (50 << 20, 256 << 20), (40 << 20, 256 << 20),
                                          (192 << 20, 384 << 20)])
def test_the_flush_writes_twice_the_l2_and_never_under_256_mib(l2, expected):
    """T4 (4 MB), H100 (50 MB), A100 (40 MB), a future 192 MB L2."""
    assert timing.flush_bytes(l2) == expected
