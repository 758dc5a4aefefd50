"""What `%train --background` costs against the same run in the foreground.

Claims: a background run holds no more memory or CPU than a foreground one (peak RSS, CPU time and
wall time of the training process: ratio <= 1.05), and following it (`attach`) costs the notebook
<= 2 ms of CPU per update, as %resources does.

Wall time: the foreground process from its start to its exit; the background run from its job's
spec (written just before its process starts) to its outcome record (its last write). Each run is a
fresh process training cnn on the embedded digits with one thread and a fixed seed;
foreground and background alternate, REPEATS times each, medians reported. The background run's
figures are its own process's (the starting process reaps it, so its rusage is the child's).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Row, report

REPEATS = 3
WORKLOAD = "'cnn', 'digits', epochs=6, threads=1, seed=0"
ROOT = Path(__file__).resolve().parents[1]

FOREGROUND = f"""
import json, resource, time
from colabmagic.train import train
train({WORKLOAD}, name='fg')
"""

# starts the background run, waits for it, and reports the background process's own rusage
BACKGROUND = f"""
import json, resource, time
from colabmagic.train import train
run = train({WORKLOAD}, name='bg', background=True)
run.wait()
while run.job.identity.alive():
    time.sleep(0.01)
deadline = time.monotonic() + 5
while resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss == 0 and time.monotonic() < deadline:
    time.sleep(0.01)  # the reaper thread collects it
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
# from the job's spec (written just before the process starts) to the outcome (its last write)
wall = run.folder.outcome().ended_at - run.folder.spec_file.stat().st_mtime
print(json.dumps({{"wall": wall, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}}))
"""


def foreground(folder: Path) -> dict[str, float]:
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", FOREGROUND], cwd=folder, env=env(folder),
                               stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return {"wall": time.perf_counter() - start, "rss_kib": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}


def background(folder: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", BACKGROUND], cwd=folder, env=env(folder), capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def env(folder: Path) -> dict[str, str]:
    return {**os.environ, "COLABMAGIC_STATE_DIR": str(folder / "state"),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def attach_cost(folder: Path) -> tuple[float, int]:
    """CPU seconds this process spends per update while it follows a live run (no view: the views
    cost what they cost in the foreground too)."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(env(folder))
    os.chdir(folder)
    from colabmagic.train import train
    from colabmagic.train.callbacks import Callback

    class Count(Callback):
        updates = 0

        def on_progress(self, progress):
            self.updates += 1

    import torch  # noqa: F401  (a notebook that follows a run has it; its import is no cost of following)

    run = train("mlp", "digits", epochs=60, threads=1, seed=0, name="follow", background=True)
    counter = Count()
    cpu = time.process_time()
    run.attach([counter])
    return (time.process_time() - cpu) / max(counter.updates, 1), counter.updates


def main() -> None:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        samples = {"fg": [], "bg": []}
        for _ in range(REPEATS):
            samples["fg"].append(foreground(folder))
            samples["bg"].append(background(folder))

        def median(kind, key):
            return statistics.median(s[key] for s in samples[kind])

        rows.append(Row("wall time, cnn digits 6 epochs", median("bg", "wall"), median("fg", "wall"), "s",
                        "start to end of the training process"))
        rows.append(Row("CPU time of the training process", median("bg", "cpu"), median("fg", "cpu"), "s"))
        rows.append(Row("peak RSS of the training process", median("bg", "rss_kib") / 1024,
                        median("fg", "rss_kib") / 1024, "MiB"))
        per_update, updates = attach_cost(folder)
        rows.append(Row("attach: notebook CPU per update", per_update * 1000, 2.0, "ms",
                        f"peer: the 2 ms budget of a %resources refresh; {updates} updates"))
    report("%train --background vs the same run in the foreground", rows)


if __name__ == "__main__":
    main()
