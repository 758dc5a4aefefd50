"""GPU-correct timing: warm-up, CUDA events, one sync, a cold L2 per run, optional CUDA graph replay.

`time_callable(fn)` times a zero-argument function; `time_loops(loops)` times a function that runs
the code under test `n` times per call (`%%timeit_gpu` compiles the cell into one, so the loop costs
what a Python `for` costs, as in `%timeit`). Both return a `TimingResult`.

How a measurement goes:
1. warm-up: `warmup` untimed calls (default 1), so imports, cuBLAS handles, allocator growth and
   torch.compile happen before anything is measured;
2. with `graph=True`, one capture of a single call into a `torch.cuda.CUDAGraph` on a side stream;
   from then on `graph.replay()` is what gets timed;
3. loops per run: `number`, or IPython's autorange (1, 10, 100, … until one run takes >= 0.2 s);
   these trial runs are untimed. With `number` given and `warmup` left at None, one untimed run of
   `number` loops takes their place, so both cases warm up with a run of the size that is timed;
4. `repeat` timed runs with the garbage collector off (as in `timeit`).

On CUDA each run is `flush L2; start.record(); loops(number); end.record()` and all runs are read
after a single `torch.cuda.synchronize()`: syncing per run would add launch gaps to what we measure.
The flush zeroes a buffer the size of the device's L2 (allocated once per device and kept), before
the start event, so its cost is not counted and every run starts with a cold L2; later loops within
one run see whatever the earlier ones left in L2, as a loop in a program would (`-n 1 -r 100` gives
every call a cold cache). Events are recorded on the current stream: work the code puts on other
streams is only counted if it joins the current stream before returning.

Where the time is measured: on CUDA when torch is installed and `torch.cuda.is_available()`,
otherwise on the CPU with `time.perf_counter`. torch is imported on the first timing when it is
installed (asking torch is the only reliable way to know whether CUDA works); when it is not
installed nothing is imported (runtime.cuda_missing asks `importlib.util.find_spec` first). On a
CUDA machine a cell that does only CPU work is still timed with events: with an idle GPU they are
recorded as the CPU reaches them, so they measure the CPU time of the loops.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError, DeviceError
from .locale import tr, trn
from .units import size as format_bytes  # the one byte formatter

MIN_RUN_SECONDS = 0.2  # autorange: the shortest run IPython's %timeit accepts
MAX_AUTORANGE_EXPONENT = 9  # at most 10**9 loops per run, as in %timeit
CACHE_WARNING_RATIO = 4.0  # slowest / fastest run above which %timeit warns about caching
DEFAULT_REPEAT = 7

# device index -> the int32 tensor zeroed between runs; allocated once, it lives with the process
_flush_buffers: dict = {}


@dataclass
class TimingResult:
    """One measurement. Times are seconds; `all_runs` holds whole runs, the statistics are per loop."""

    all_runs: list[float]  # seconds of each timed run (each run = `loops` calls)
    loops: int  # calls per run
    repeat: int  # timed runs
    backend: str  # "cuda" or "cpu"
    device: str  # e.g. "NVIDIA H100 80GB HBM3", or "CPU (no CUDA device)"
    flush_l2: bool = False  # the L2 cache was flushed before every run
    graph: bool = False  # the runs replayed a CUDA graph of one call
    peak_memory: int | None = None  # bytes, CUDA only: highest allocation above memory_before
    memory_before: int | None = None  # bytes allocated on the device before timing began

    @property
    def timings(self) -> list[float]:
        """Seconds per loop, one value per run."""
        return [run / self.loops for run in self.all_runs]

    @property
    def best(self) -> float:
        return min(self.timings)

    @property
    def worst(self) -> float:
        return max(self.timings)

    @property
    def median(self) -> float:
        return statistics.median(self.timings)

    @property
    def mean(self) -> float:
        return math.fsum(self.timings) / len(self.timings)

    average = mean  # the name IPython's TimeitResult uses

    @property
    def stdev(self) -> float:
        """Population standard deviation per loop, as %timeit reports it."""
        return statistics.pstdev(self.timings)

    @property
    def cache_warning(self) -> str | None:
        """%timeit's warning when the slowest run is far slower than the fastest, else None."""
        # below a microsecond per loop the spread is timer noise, not caching (as in %timeit)
        if self.best > 0 and self.worst > 1e-6 and self.worst > CACHE_WARNING_RATIO * self.best:
            return tr("The slowest run took {ratio:.2f} times longer than the fastest. "
                      "This could mean that an intermediate result is being cached.").format(
                          ratio=self.worst / self.best)
        return None

    def __str__(self) -> str:
        runs, loops = self.repeat, self.loops
        # each count is its own plural (a sentence has one n); the line puts them in its word order
        line = tr("{median} {pm} {stdev} per loop (median {pm} std. dev. of {runs}, {loops}) on {device}").format(
            median=format_time(self.median), pm=_plus_minus(), stdev=format_time(self.stdev), device=self.device,
            runs=trn("{n} run", "{n} runs", runs).format(n=runs),
            loops=trn("{n:,} loop each", "{n:,} loops each", loops).format(n=loops))
        details = []
        if self.peak_memory is not None:
            details.append(tr("peak memory {peak} above the {before} already allocated").format(
                peak=format_bytes(self.peak_memory), before=format_bytes(self.memory_before or 0)))
        if self.flush_l2:  # once per run: of a run's loops only the first starts with a cold L2
            details.append(tr("L2 flushed before each run") if loops == 1 else
                           tr("L2 flushed before each run (its first loop of {loops:,} starts cold; -n 1: all)")
                           .format(loops=loops))
        if self.graph:
            details.append(tr("CUDA graph replay"))
        return line + ("\n" + tr(", ").join(details) if details else "")  # the list's comma: Chinese writes ，

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def format_time(seconds: float, digits: int = 3) -> str:
    """`seconds` with `digits` significant digits in s, ms, µs or ns, as %timeit prints it."""
    if seconds >= 1000:
        return f"{seconds:.0f} s"
    units = ("s", "ms", _micro() + "s", "ns")
    if seconds > 0:
        # 0 for seconds, 1 for ms, …; ns also takes anything below a nanosecond
        order = min(max(-math.floor(math.log10(seconds)) + 2, 0) // 3, 3)
    else:
        order = 3
    if order > 0 and float(f"{seconds * 1000 ** order:.{digits}g}") >= 1000:
        order -= 1  # 999.7 µs rounds up: print 1 ms, not 1e+03 µs
    return f"{seconds * 1000 ** order:.{digits}g} {units[order]}"


def _stdout_can_print(text: str) -> bool:
    encoding = getattr(sys.stdout, "encoding", None)
    if not encoding:
        return False
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _micro() -> str:
    return "\u00b5" if _stdout_can_print("\u00b5") else "u"


def _plus_minus() -> str:
    return "\u00b1" if _stdout_can_print("\u00b1") else "+-"


def time_callable(fn: Callable[[], object], *, number: int | None = None, repeat: int = DEFAULT_REPEAT,
                  warmup: int | None = None, flush_l2: bool = True, graph: bool = False,
                  device=None) -> TimingResult:
    """Time `fn()`: median and spread per call over `repeat` runs of `number` calls.

    number: calls per run; None chooses it so one run takes >= 0.2 s (IPython's autorange).
    repeat: timed runs (default 7).
    warmup: untimed calls before anything is measured; None means one call, then one untimed run.
    flush_l2: CUDA only: zero an L2-sized buffer before every run (outside the timed window).
    graph: CUDA only: capture one call into a CUDA graph after warm-up and time its replay.
    device: None picks CUDA (the current device) when available, else the CPU;
            "cpu", "cuda", "cuda:N", an int or a torch.device choose explicitly.
    """

    def loops(n: int) -> None:
        for _ in range(n):
            fn()

    return time_loops(loops, number=number, repeat=repeat, warmup=warmup, flush_l2=flush_l2,
                      graph=graph, device=device)


def time_loops(loops: Callable[[int], object], *, number: int | None = None, repeat: int = DEFAULT_REPEAT,
               warmup: int | None = None, flush_l2: bool = True, graph: bool = False,
               device=None) -> TimingResult:
    """Like time_callable, for a `loops(n)` that runs the code under test n times itself."""
    _check_counts(number, repeat, warmup)
    target = _choose_device(device, graph)
    if target is None:
        name = "CPU" if device is not None else tr("CPU (no CUDA device)")
        return _time_on_cpu(loops, number, repeat, warmup, name)
    torch, index = target
    with torch.cuda.device(index):
        return _time_on_cuda(torch, index, loops, number, repeat, warmup, flush_l2, graph)


@contextmanager
def on_timing_device(device=None, graph: bool = False):
    """Make the device time_loops(device=...) will time on the current CUDA device for the block:
    %%timeit_gpu's setup must allocate its tensors there (on GPU 0 they would be timed from GPU 1).
    The CPU: nothing to do."""
    target = _choose_device(device, graph)
    if target is None:
        yield
        return
    torch, index = target
    with torch.cuda.device(index):
        yield


def _check_counts(number, repeat, warmup) -> None:
    if number is not None and (not isinstance(number, int) or number < 1):
        raise ConfigError(tr("the number of loops per run (-n) must be a whole number >= 1, not {value!r}")
                          .format(value=number))
    if not isinstance(repeat, int) or repeat < 1:
        raise ConfigError(tr("the number of runs (-r) must be a whole number >= 1, not {value!r}").format(value=repeat))
    if warmup is not None and (not isinstance(warmup, int) or warmup < 0):
        raise ConfigError(tr("the number of warm-up calls (--warmup) must be a whole number >= 0, not {value!r}")
                          .format(value=warmup))


def _choose_device(device, graph: bool):
    """(torch, CUDA device index) to time on, or None for the CPU.

    colabmagic.runtime parses and resolves the spec, and words why a device cannot be used, as
    for %train --device; only timing's own limits (no MPS, --graph needs CUDA) are worded here.
    None means CUDA when it is available (the GPU chosen with %runtime, if one was), else the CPU.
    """
    from .runtime import cuda_missing, parse_spec, selected, torch_device, unavailable

    wanted = parse_spec(device)  # also an int (a GPU number) or a torch.device
    if wanted.kind == "cpu":
        if graph:
            raise DeviceError(tr("--graph needs a CUDA device: device='cpu' was asked for"))
        return None
    if wanted.kind == "mps":
        raise DeviceError(tr("timing runs on 'cpu' or a CUDA device, not {device!r}").format(device=device))
    why = cuda_missing()  # imports torch only when it is installed
    if why is not None:
        if graph:
            raise DeviceError(tr("--graph needs a CUDA device ({why}): run without --graph to time on the CPU")
                              .format(why=why))
        if wanted.kind == "cuda":
            raise unavailable(wanted, why)
        return None  # auto: no CUDA, no GPU work to time
    import torch

    if wanted.kind == "auto" and parse_spec(selected()).kind != "cuda":
        wanted = parse_spec("cuda")  # a CPU selection still times CUDA work on the current GPU
    return torch, torch_device(wanted).index


@contextmanager
def _gc_paused():
    """Keep the garbage collector out of the measurement, as timeit does; restore its state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _measure(clock, timed, number, repeat, default_warmup: bool) -> tuple[int, list[float]]:
    """Choose the loop count (autorange, or one untimed warm-up run), then take `repeat` runs."""
    if number is None:
        number = _autorange(clock, timed)
    elif default_warmup:
        clock.runs(timed, number, 1)
    return number, clock.runs(timed, number, repeat)


def _autorange(clock, timed) -> int:
    """IPython's rule: the first power of ten whose run takes >= MIN_RUN_SECONDS."""
    for exponent in range(MAX_AUTORANGE_EXPONENT + 1):
        number = 10 ** exponent
        if clock.runs(timed, number, 1)[0] >= MIN_RUN_SECONDS:
            break
    return number


class _CpuClock:
    @staticmethod
    def runs(timed, number: int, repeat: int) -> list[float]:
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            timed(number)
            seconds.append(time.perf_counter() - start)
        return seconds


def _time_on_cpu(loops, number, repeat, warmup, name) -> TimingResult:
    for _ in range(1 if warmup is None else warmup):
        loops(1)
    with _gc_paused():
        number, runs = _measure(_CpuClock, loops, number, repeat, warmup is None)
    return TimingResult(all_runs=runs, loops=number, repeat=repeat, backend="cpu", device=name)


class _CudaClock:
    """Runs timed by CUDA events on the current stream, read after one synchronize."""

    def __init__(self, torch, index: int, flush_l2: bool):
        self.torch = torch
        self.index = index
        self.stream = torch.cuda.current_stream(index)
        self.flush = _flush_buffer(torch, index) if flush_l2 else None

    def runs(self, timed, number: int, repeat: int) -> list[float]:
        cuda = self.torch.cuda
        starts = [cuda.Event(enable_timing=True) for _ in range(repeat)]
        ends = [cuda.Event(enable_timing=True) for _ in range(repeat)]
        for start, end in zip(starts, ends):
            if self.flush is not None:
                # queued before the start event, so the GPU finishes it before the clock starts
                self.flush.zero_()
            start.record(self.stream)
            timed(number)
            end.record(self.stream)
        # the one sync point: elapsed_time needs both events to have completed on the GPU
        cuda.synchronize(self.index)
        return [start.elapsed_time(end) / 1e3 for start, end in zip(starts, ends)]


FLUSH_MIN_BYTES = 256 << 20  # what triton's do_bench writes to flush


def flush_bytes(l2_bytes: int) -> int:
    """How much to write to evict L2: twice its size, and never under 256 MiB. Writing exactly the L2
    size leaves lines behind in the hashed, partitioned L2 of an A100/H100, and on a 4 MB L2 (T4) the
    write is over before the timed kernel is even launched."""
    return max(FLUSH_MIN_BYTES, 2 * l2_bytes)


def _flush_buffer(torch, index: int):
    """An int32 buffer of flush_bytes(L2); zeroing it all evicts whatever L2 held."""
    buffer = _flush_buffers.get(index)
    if buffer is None:
        l2_bytes = torch.cuda.get_device_properties(index).L2_cache_size
        buffer = torch.empty(flush_bytes(l2_bytes) // 4, dtype=torch.int32, device=torch.device("cuda", index))
        _flush_buffers[index] = buffer
    return buffer


def _time_on_cuda(torch, index, loops, number, repeat, warmup, flush_l2, graph) -> TimingResult:
    calls = 1 if warmup is None else warmup
    side = None
    if graph:
        # capture must not meet first-call work (cuBLAS handles, allocator growth), so the code runs
        # at least once before it; PyTorch asks for that warm-up on a side stream
        calls = max(calls, 1)
        side = torch.cuda.Stream(index)
        side.wait_stream(torch.cuda.current_stream(index))
        with torch.cuda.stream(side):
            for _ in range(calls):
                loops(1)
        torch.cuda.current_stream(index).wait_stream(side)
    else:
        for _ in range(calls):
            loops(1)

    clock = _CudaClock(torch, index, flush_l2)  # allocates the flush buffer before the baseline below
    torch.cuda.synchronize(index)
    memory_before = torch.cuda.memory_allocated(index)
    torch.cuda.reset_peak_memory_stats(index)
    if graph:
        cuda_graph = _capture(torch, loops, side)

        def timed(n: int) -> None:
            for _ in range(n):
                cuda_graph.replay()
    else:
        timed = loops
    with _gc_paused():
        number, runs = _measure(clock, timed, number, repeat, warmup is None)
    peak = torch.cuda.max_memory_allocated(index) - memory_before
    return TimingResult(all_runs=runs, loops=number, repeat=repeat, backend="cuda",
                        device=torch.cuda.get_device_name(index), flush_l2=flush_l2, graph=graph,
                        peak_memory=max(peak, 0), memory_before=memory_before)


def _capture(torch, loops, side):
    """Capture one call of the code into a CUDA graph, or say in one line why it cannot be."""
    cuda_graph = torch.cuda.CUDAGraph()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # the outer stream context restores the current stream even when capture_end raises
            # inside torch.cuda.graph.__exit__ before its own stream context is left
            with torch.cuda.stream(side), torch.cuda.graph(cuda_graph, stream=side):
                loops(1)
    except Exception as err:
        # capture_end fails after any error inside the capture; the first error says what went wrong
        cause = err
        while cause.__context__ is not None:
            cause = cause.__context__
        reason = (str(cause).strip().splitlines() or [""])[0]
        raise ConfigError(tr(
            "--graph: the cell could not be captured into a CUDA graph ({error}: {reason}); "
            "a graph cannot contain CPU syncs such as .item(), .cpu(), .tolist() or printing a tensor: "
            "move them out of the cell or run without --graph").format(
                error=type(cause).__name__, reason=reason)) from err
    empty = False
    for warning in caught:
        if "CUDA Graph is empty" in str(warning.message):
            empty = True
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if empty:
        raise ConfigError(tr("--graph: the cell launched no CUDA work on the current stream, so the graph "
                             "is empty and replaying it would time nothing: run without --graph"))
    return cuda_graph
