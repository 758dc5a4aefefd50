"""`%%timeit_gpu` against the timers people trust, on the same statements in the same process.

CPU: IPython's own `%timeit` in the same InteractiveShell (target: medians within 10 %).
CUDA (when torch.cuda is available): torch.utils.benchmark.Timer and, when importable,
triton.testing.do_bench on a 4096² matmul in bf16 and fp32 (target: medians within 5 %).
%timeit reports a mean; we compare medians, taking its median from `TimeitResult.timings`.
This machine is shared, so each pair is measured ROUNDS times, alternating, keeping each tool's best
median: a neighbour's burst of work slows a round, never speeds one up.
"""

from __future__ import annotations

import statistics
from importlib.util import find_spec

from harness import Row, report

ROUNDS = 2
SIZE = 4096  # the matmul's side on CUDA

CPU_CASES = [
    # name, notebook setup, statement
    ("sum(range(10_000))", "", "sum(range(10_000))"),
    ("numpy 256x256 @ 256x256 (float64)",
     "import numpy as np\nrng = np.random.default_rng(0)\nx = rng.random((256, 256))\ny = rng.random((256, 256))",
     "x @ y"),
    ("sorted(10_000 floats)", "import random\nrandom.seed(0)\nfloats = [random.random() for _ in range(10_000)]",
     "sorted(floats)"),
]


def make_shell():
    from IPython.core.interactiveshell import InteractiveShell

    from colabmagic.magics.timeit_gpu import TimeitGpuMagics

    shell = InteractiveShell.instance()
    # only the magic under test: the benchmark must not depend on the rest of the extension
    shell.register_magics(TimeitGpuMagics)
    return shell


def run(shell, cell: str) -> None:
    shell.run_cell(cell, store_history=False).raise_error()


def ours(shell, options: str, statement: str):
    # -v rather than -o: a returned object would also be echoed as Out[]
    run(shell, f"%%timeit_gpu {options} -q -v bench_result\n{statement}")
    return shell.user_ns["bench_result"]


def timeit(shell, statement: str):
    run(shell, f"bench_result = %timeit -q -o {statement}")
    return shell.user_ns["bench_result"]


def cpu_rows(shell) -> list[Row]:
    rows = []
    for name, setup, statement in CPU_CASES:
        if setup:
            run(shell, setup)
        our_medians, peer_medians = [], []
        for _ in range(ROUNDS):
            ours_result = ours(shell, "", statement)
            our_medians.append(ours_result.median)
            peer_result = timeit(shell, statement)
            peer_medians.append(statistics.median(peer_result.timings))
        rows.append(Row(f"{name} vs %timeit", min(our_medians) * 1e6, min(peer_medians) * 1e6, unit="us",
                        note=f"{ours_result.loops:,} vs {peer_result.loops:,} loops/run; {ours_result.device}"))
    return rows


def do_bench_median(fn) -> float:
    """triton.testing.do_bench's median in seconds, across the signatures triton has had."""
    from triton.testing import do_bench

    try:
        return do_bench(fn, return_mode="median") / 1e3
    except TypeError:
        return do_bench(fn, quantiles=[0.5])[0] / 1e3


def cuda_rows(shell) -> list[Row]:
    import torch
    from torch.utils.benchmark import Timer

    rows = []
    has_triton = find_spec("triton") is not None
    for dtype_name, tag in (("bfloat16", "bf16"), ("float32", "fp32")):
        run(shell, f"import torch\na = torch.randn({SIZE}, {SIZE}, device='cuda', dtype=torch.{dtype_name})\n"
                   f"b = torch.randn({SIZE}, {SIZE}, device='cuda', dtype=torch.{dtype_name})")
        a, b = shell.user_ns["a"], shell.user_ns["b"]
        timer = min(Timer("a @ b", globals={"a": a, "b": b}).blocked_autorange(min_run_time=2).median
                    for _ in range(ROUNDS))
        bench = min(do_bench_median(lambda: a @ b) for _ in range(ROUNDS)) if has_triton else None
        for options, label in (("", "flush"), ("--no-flush", "no flush"), ("--graph", "graph")):
            result = min((ours(shell, options, "a @ b") for _ in range(ROUNDS)), key=lambda r: r.median)
            name = f"matmul {SIZE}² {tag} ({label})"
            note = f"{result.loops:,} loops/run; {result.device}"
            rows.append(Row(f"{name} vs torch Timer", result.median * 1e3, timer * 1e3, unit="ms", note=note))
            if bench is not None:
                rows.append(Row(f"{name} vs triton do_bench", result.median * 1e3, bench * 1e3, unit="ms",
                                note="do_bench flushes L2 before every call"))
        del a, b
        shell.user_ns.pop("a"), shell.user_ns.pop("b")
        torch.cuda.empty_cache()
    return rows


def cuda_available() -> bool:
    if find_spec("torch") is None:
        return False
    import torch

    return torch.cuda.is_available()


def main() -> None:
    shell = make_shell()
    report("%%timeit_gpu vs %timeit (CPU, median per loop; target ratio within 0.9-1.1)", cpu_rows(shell))
    if cuda_available():
        report("%%timeit_gpu vs torch Timer / triton do_bench (CUDA; target within 0.95-1.05)", cuda_rows(shell))
    else:
        print("(no CUDA device: the GPU comparisons were skipped)")


if __name__ == "__main__":
    main()
