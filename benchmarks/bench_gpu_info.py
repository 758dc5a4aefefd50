"""What a reading costs: warm `snapshot()` against the tools people use for the same numbers.

With a GPU the peer is `nvidia-smi --query-gpu=... --format=csv` (what Colab's own resource
endpoint runs); without one it is the bare psutil calls for the same host numbers, so the ratio
is our overhead over psutil itself. Targets: warm snapshot() <= 1 ms without a GPU, <= 2 ms per GPU.
A fresh-process row shows the one-off cost of the first reading (imports, NVML start).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

from harness import Row, median_seconds, report

QUERY = ("--query-gpu=index,name,uuid,driver_version,memory.used,memory.total,utilization.gpu,"
         "utilization.memory,temperature.gpu,power.draw,power.limit,clocks.sm,pcie.link.gen.current,"
         "pcie.link.width.current,persistence_mode,mig.mode.current")

FIRST_CALL = """
import json, time
t0 = time.perf_counter()
{body}
print(json.dumps(time.perf_counter() - t0))
"""
OURS_FIRST = "from colabmagic.machine import snapshot\nsnapshot()"
OURS_FIRST_NO_CPU = "from colabmagic.machine import snapshot\nsnapshot(cpu_sample=0)"
# psutil's first cpu_percent(None) is a meaningless 0.0; interval=0.1 measures CPU use as ours does
PSUTIL_FIRST = ("import os, psutil\npsutil.cpu_percent({interval}); psutil.virtual_memory(); psutil.swap_memory()\n"
                "[psutil.disk_usage(p) for p in {paths!r}]")


def psutil_readings(paths):
    import psutil

    def read():
        psutil.cpu_percent(None)
        psutil.virtual_memory()
        psutil.swap_memory()
        os.getloadavg()
        for path in paths:
            psutil.disk_usage(path)

    return read


def first_call_ms(body: str, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", FIRST_CALL.format(body=body)],
                             capture_output=True, text=True, check=True)
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return sorted(samples)[len(samples) // 2] * 1e3


def main() -> None:
    from colabmagic.machine import snapshot

    first = snapshot()
    gpus = len(first.gpus)
    paths = [p for d in first.host.disks for p in d.paths[:1]]
    rows = []
    ours = median_seconds(snapshot, repeat=9, number=200 if not gpus else 20) * 1e3
    lean = median_seconds(lambda: snapshot(processes=False), repeat=9, number=200 if not gpus else 20) * 1e3
    smi = shutil.which("nvidia-smi")
    if gpus and smi:
        def nvidia_smi():
            subprocess.run([smi, QUERY, "--format=csv,noheader,nounits"], capture_output=True, check=True)

        peer = median_seconds(nvidia_smi, repeat=7) * 1e3
        rows.append(Row("snapshot() warm vs nvidia-smi --query-gpu", ours, peer,
                        note=f"{gpus} GPU(s), process lists included: {ours / gpus:.3f} ms per GPU"))
        rows.append(Row("snapshot(processes=False) warm vs nvidia-smi", lean, peer,
                        note=f"{lean / gpus:.3f} ms per GPU"))
    peer = median_seconds(psutil_readings(paths), repeat=9, number=200) * 1e3
    no_gpu = "" if gpus else f"no GPU ({first.gpu_problem})"
    rows.append(Row("snapshot() warm vs psutil-only readings", ours, peer, note=no_gpu or f"{gpus} GPU(s)"))
    rows.append(Row("snapshot(processes=False) vs psutil-only", lean, peer))
    rows.append(Row("str(snapshot) vs snapshot()", median_seconds(lambda: str(first), number=200) * 1e3,
                    ours, note="text rendering"))
    rows.append(Row("_repr_html_() vs snapshot()", median_seconds(first._repr_html_, number=200) * 1e3,
                    ours, note="HTML rendering"))
    rows.append(Row("first snapshot() in a fresh process vs first psutil readings",
                    first_call_ms(OURS_FIRST), first_call_ms(PSUTIL_FIRST.format(interval=0.1, paths=paths)),
                    note="both measure CPU use over 0.1 s; imports psutil + pynvml, starts NVML"))
    rows.append(Row("first snapshot(cpu_sample=0) vs first psutil readings, no CPU use",
                    first_call_ms(OURS_FIRST_NO_CPU), first_call_ms(PSUTIL_FIRST.format(interval=None, paths=paths)),
                    note="without the CPU-use window"))
    report("gpu_info", rows)


if __name__ == "__main__":
    main()
