"""`%load_ext colabmagic` cost in a fresh interpreter, against a bare IPython start.

Each sample is a new Python process: a warm process would hide import costs. Imports read Python's
bytecode cache, as an installed package's do (pip compiles it on install): the samples run without
PYTHONDONTWRITEBYTECODE, after one unmeasured run that writes it (compiling 28 modules from source
on every start doubled the figure). Target: ≤ 20 ms added, no heavy module imported.
`%load_ext tensorboard` is timed the same way for scale when installed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from importlib.util import find_spec

from harness import Row, report

HEAVY = ["torch", "tensorboard", "kagglehub", "jupyter_server", "ipywidgets", "pynvml", "psutil", "numpy"]

PROBE = """
import json, sys, time
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t1 = time.perf_counter()
shell.run_line_magic("load_ext", {ext!r})
t2 = time.perf_counter()
print(json.dumps({{"start": t1 - t0, "load": t2 - t1,
                   "heavy": [m for m in {heavy!r} if m in sys.modules]}}))
"""


def sample(extension: str, runs: int = 9) -> tuple[float, float, list[str]]:
    starts, loads, heavy = [], [], set()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = PROBE.format(ext=extension, heavy=HEAVY)
    for run in range(runs + 1):  # the first writes the bytecode cache
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        if not run:
            continue
        data = json.loads(out.stdout.strip().splitlines()[-1])
        starts.append(data["start"])
        loads.append(data["load"])
        heavy.update(data["heavy"])
    return statistics.median(starts) * 1e3, statistics.median(loads) * 1e3, sorted(heavy)


def main() -> None:
    start_ms, load_ms, heavy = sample("colabmagic")
    rows = [Row("load_ext colabmagic vs bare IPython start", load_ms, start_ms,
                note=f"heavy modules imported: {heavy or 'none'}")]
    if find_spec("tensorboard") is not None:
        _, tb_ms, _ = sample("tensorboard")
        rows.append(Row("load_ext colabmagic vs load_ext tensorboard", load_ms, tb_ms))
    report("load_ext", rows)


if __name__ == "__main__":
    main()
