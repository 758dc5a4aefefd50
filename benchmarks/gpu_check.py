"""`make gpu-check`: every check that needs an NVIDIA GPU, in one command, within 8 minutes.

Runs on a GPU machine with no internet, on that machine's own python3 (PyTorch with CUDA, triton,
pandas, tensorboard, psutil, nvidia-ml-py), the checkout on sys.path, plus the few pure-Python
wheels it lacks (IPython and what it needs), which `make gpu-wheels` downloads here into .whl/ to
be copied along: they are installed into a temporary folder first when IPython is missing.

Each part runs in a child process of its own with a time limit (a hang costs that part, not the
run) and ends with a `RESULT {json}` line; the parent prints one summary. Without a GPU every part
says "no NVIDIA GPU" and the command still succeeds; with one, a failed part makes it exit 1.

    python3 benchmarks/gpu_check.py            # all parts
    python3 benchmarks/gpu_check.py --part train
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# part, seconds it may take (they add up to under 8 minutes), what it checks
PARTS = [
    ("tests", 140, "the gpu-marked tests"),
    ("gpu_info", 30, "%gpu_info through NVML against nvidia-smi"),
    ("runtime", 30, "%runtime lists the GPU through NVML, with no CUDA context"),
    ("timeit", 60, "%%timeit_gpu against torch.cuda.Event timing and triton's do_bench"),
    ("train", 110, "%train cnn and resnet9 (bf16, channels_last) against a plain loop"),
    ("load", 30, "load(..., device='cuda')"),
    ("ddp", 60, "a one-worker NCCL run, and a killed kernel taking its GPU worker along"),
]
GPU_TEST_FILES = ["tests/test_runtime.py", "tests/test_system.py", "tests/test_timeit_gpu.py",
                  "tests/test_timing.py", "tests/test_train_cuda.py"]
WITHIN = 0.05  # %%timeit_gpu's medians against its peers'


# --- the parent: set-up, parts, summary ------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=[name for name, _, _ in PARTS], help="run one part here and print its RESULT")
    args = parser.parse_args()
    if args.part:
        return run_part(args.part)

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryDirectory(prefix="colabmagic-gpu-check-") as tmp:
        site = install_carried_wheels(Path(tmp) / "site")
        paths = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests"), *([str(site)] if site else [])]
        env["PYTHONPATH"] = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
        gpu = gpu_present()
        print(f"== colabmagic gpu-check on {gpu or 'a machine without an NVIDIA GPU'} ({sys.executable})")
        results = []
        started = time.monotonic()
        for name, limit, what in PARTS:
            if not gpu:
                results.append((name, what, {"status": "skipped", "summary": "no NVIDIA GPU"}))
                continue
            print(f"\n-- {name}: {what} (limit {limit} s)", flush=True)
            results.append((name, what, run_child(name, limit, env, cwd=tmp)))
    print(f"\n== gpu-check summary ({time.monotonic() - started:.0f} s)")
    for name, what, result in results:
        print(f"{result['status'].upper():<8} {name:<9} {what}: {result['summary']}")
    return 1 if any(r["status"] == "failed" for _, _, r in results) else 0


def gpu_present() -> str | None:
    """The GPUs' names when nvidia-smi answers and torch sees CUDA, else None."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        return None
    try:
        import torch
    except ImportError:
        return None
    return ", ".join(out.stdout.strip().splitlines()) if torch.cuda.is_available() else None


def install_carried_wheels(target: Path) -> Path | None:
    """Installs .whl/*.whl (make gpu-wheels) into `target` when IPython is not importable here."""
    from importlib.util import find_spec

    wheels = sorted((ROOT / ".whl").glob("*.whl"))
    if find_spec("IPython") is not None:
        return None
    if not wheels:
        print("IPython is missing and .whl/ holds no wheels: run `make gpu-wheels` where pip works")
        return None
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--target", str(target), *map(str, wheels)], check=True)
    return target


def run_child(name: str, limit: int, env: dict, cwd: str) -> dict:
    """One part in its own process (group), killed at `limit` seconds; its RESULT line, or why none came."""
    process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--part", name], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + limit
    result, tail = None, []
    try:
        for line in iter_lines(process, deadline):
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT "):])
            else:
                print(f"   {line}", flush=True)
                tail = (tail + [line])[-5:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if result is None:
        why = f"no result within {limit} s" if time.monotonic() >= deadline else f"exit {process.returncode}"
        return {"status": "failed", "summary": f"{why}: {' | '.join(tail[-2:])}"}
    return result


def iter_lines(process: subprocess.Popen, deadline: float):
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    while time.monotonic() < deadline:
        if not selector.select(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
            continue
        line = process.stdout.readline()
        if not line:
            return
        yield line.rstrip("\n")


# --- the parts (each runs in a child: python3 gpu_check.py --part NAME) ------------------------------

def run_part(name: str) -> int:
    try:
        result = globals()[f"part_{name}"]()
    except Exception as err:  # a part's failure is its result, with the reason on one line
        import traceback

        traceback.print_exc()
        result = {"status": "failed", "summary": f"{type(err).__name__}: {err}".splitlines()[0][:300]}
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def ok(summary: str, **numbers) -> dict:
    return {"status": "ok", "summary": summary, **numbers}


def failed(summary: str, **numbers) -> dict:
    return {"status": "failed", "summary": summary, **numbers}


def part_tests() -> dict:
    command = [sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-o", "addopts=-ra",
               "--timeout=120", *GPU_TEST_FILES]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    print(out.stdout[-3000:])
    last = (out.stdout.strip().splitlines() or ["(no output)"])[-1].strip("= ")
    return (ok if out.returncode == 0 else failed)(last)


def smi_gpus() -> list[dict]:
    fields = ["index", "name", "uuid", "driver_version", "memory.total"]
    out = subprocess.run(["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, check=True)
    return [dict(zip(fields, (cell.strip() for cell in line.split(",")))) for line in out.stdout.strip().splitlines()]


def part_gpu_info() -> dict:
    from harness import median_seconds

    from colabmagic.machine import snapshot

    reading, expected = snapshot(), smi_gpus()
    mismatches = []
    if len(reading.gpus) != len(expected):
        mismatches.append(f"{len(reading.gpus)} GPUs vs nvidia-smi's {len(expected)}")
    for ours, theirs in zip(reading.gpus, expected):
        pairs = [("name", ours.name, theirs["name"]), ("uuid", ours.uuid, theirs["uuid"]),
                 ("driver", ours.driver_version, theirs["driver_version"]),
                 ("memory MiB", (ours.memory_total or 0) // 2**20, int(theirs["memory.total"]))]
        mismatches += [f"GPU {ours.index} {what}: {a!r} vs {b!r}" for what, a, b in pairs if a != b]
    ours_ms = median_seconds(lambda: snapshot(), repeat=9) * 1e3
    smi_ms = median_seconds(smi_gpus, repeat=5) * 1e3
    print(f"snapshot() {ours_ms:.2f} ms, nvidia-smi --query-gpu {smi_ms:.1f} ms per reading")
    numbers = dict(snapshot_ms=ours_ms, nvidia_smi_ms=smi_ms, ratio=ours_ms / smi_ms)
    summary = f"same values for {len(expected)} GPU(s); {ours_ms:.2f} ms vs nvidia-smi {smi_ms:.1f} ms ({ours_ms / smi_ms:.3f}x)"
    return failed("; ".join(mismatches), **numbers) if mismatches else ok(summary, **numbers)


RUNTIME_CHILD = """
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("%load_ext colabmagic", store_history=False).raise_error()
shell.run_cell("%runtime --json", store_history=False).raise_error()
maps = open("/proc/self/maps").read()
torch = sys.modules.get("torch")
print(json.dumps({"libcuda_mapped": "libcuda.so" in maps,
                  "cuda_initialized": bool(torch and torch.cuda.is_initialized())}))
"""


def part_runtime() -> dict:
    out = subprocess.run([sys.executable, "-c", RUNTIME_CHILD], capture_output=True, text=True, timeout=25)
    if out.returncode != 0:
        return failed(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}")
    printed, state = out.stdout.rsplit("\n{", 1)[0], json.loads("{" + out.stdout.rsplit("\n{", 1)[1])
    listing = json.loads(printed[printed.index("{"):])
    gpus = [d for d in listing["devices"] if d["kind"] == "cuda"]
    names = {g["name"] for g in smi_gpus()}
    problems = []
    if not gpus or not all(d["name"] in names for d in gpus):
        problems.append(f"listed {[d['name'] for d in gpus]}, nvidia-smi {sorted(names)}")
    if state["libcuda_mapped"] or state["cuda_initialized"]:
        problems.append(f"a CUDA context was made: {state}")
    summary = f"{len(gpus)} GPU(s) listed through NVML, libcuda never loaded"
    return failed("; ".join(problems)) if problems else ok(summary)


def event_median_ms(fn, number: int, repeat: int = 7) -> float:
    """The peer: CUDA events around `number` calls, median of `repeat` runs, per call."""
    import torch

    for _ in range(number):  # warm-up run, as %%timeit_gpu does
        fn()
    times = []
    for _ in range(repeat):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(number):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / number)
    return statistics.median(times)


def part_timeit() -> dict:
    from bench_timeit import do_bench_median, make_shell, ours, run

    shell = make_shell()
    run(shell, "import torch\na = torch.randn(4096, 4096, device='cuda', dtype=torch.bfloat16)\n"
               "b = torch.randn(4096, 4096, device='cuda', dtype=torch.bfloat16)")
    a, b = shell.user_ns["a"], shell.user_ns["b"]
    rows, worst = [], 0.0
    mine = min((ours(shell, "--no-flush", "a @ b") for _ in range(2)), key=lambda r: r.median)
    events = min(event_median_ms(lambda: a @ b, mine.loops) for _ in range(2))
    rows.append(("--no-flush vs torch.cuda.Event", mine.median * 1e3, events))
    try:
        bench = min(do_bench_median(lambda: a @ b) for _ in range(2)) * 1e3
    except ImportError:
        bench = None
    if bench is not None:  # do_bench flushes L2 before every call: compare with ours flushing too
        flushed = min((ours(shell, "", "a @ b") for _ in range(2)), key=lambda r: r.median)
        rows.append(("flush vs triton do_bench", flushed.median * 1e3, bench))
    for label, ours_ms, peer_ms in rows:
        worst = max(worst, abs(ours_ms / peer_ms - 1))
        print(f"matmul 4096² bf16 {label}: {ours_ms:.4f} ms vs {peer_ms:.4f} ms ({ours_ms / peer_ms:.3f}x)")
    shell.user_ns.pop("a"), shell.user_ns.pop("b")  # the last references are this function's: freed at its end
    summary = "; ".join(f"{label} {o / p:.3f}x" for label, o, p in rows) + ("" if bench else "; no triton")
    return (ok if worst <= WITHIN else failed)(summary, worst_deviation=worst)


def part_train() -> dict:
    from bench_train import cifar_shaped, ours, peer, plain_config

    data = cifar_shaped(n=20000)
    lines, numbers, slow = [], {}, []
    for model_name, epochs, batch in (("cnn", 2, 256), ("resnet9", 2, 512)):
        config = plain_config(model_name, epochs, batch, "cuda", precision="bf16")
        # the plain loop does the same steps: bf16 autocast, channels_last, same batches and optimizer
        peer(model_name, data, 1, batch, "cuda", autocast=True)  # warm-up: cuDNN autotuning, allocator
        ours(model_name, data, **config)
        _, result = ours(model_name, data, **config)
        _, peer_seconds = peer(model_name, data, epochs, batch, "cuda", autocast=True)
        ours_rate, peer_rate = result.samples_per_second, len(data.x_train) * epochs / peer_seconds
        ratio = result.train_seconds / peer_seconds
        numbers[model_name] = dict(images_per_second=ours_rate, plain_images_per_second=peer_rate, ratio=ratio)
        lines.append(f"{model_name} {ours_rate:,.0f} img/s vs plain {peer_rate:,.0f} ({ratio:.3f}x time)")
        print(lines[-1])
        if ratio > 1.10:
            slow.append(model_name)
    return (failed if slow else ok)("; ".join(lines), **numbers)


def part_load() -> dict:
    import torch

    from colabmagic.train import load, train
    from colabmagic.train.data import load_dataset

    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        result = train("mlp", "digits", epochs=2, device="cpu", seed=0)
        path = result.save(Path(tmp) / "digits.pt")
        on_cpu, on_gpu = load(path, device="cpu"), load(path, device="cuda")
        devices = {p.device.type for p in on_gpu.model.parameters()}
        x = load_dataset("digits").x_test[:256]
        same = torch.equal(torch.as_tensor(on_cpu.predict(x)), torch.as_tensor(on_gpu.predict(x)))
    if devices != {"cuda"} or not same:
        return failed(f"parameters on {sorted(devices)}; same predictions as on the CPU: {same}")
    return ok("the model's parameters on cuda, predictions equal the CPU's")


# devices=1 trains in the kernel's own process; a one-worker torchrun run (NCCL, the GPU worker a
# killed kernel must take along) goes through the launcher directly, as --devices N does for N > 1
ONE_WORKER = ("from colabmagic.train.config import TrainConfig\nfrom colabmagic.train.plan import make_plan\n"
              "from colabmagic.train.ddp.launch import launch\n"
              "result = launch(make_plan(TrainConfig(model='mlp', dataset='digits', device='cuda', epochs={epochs}, "
              "seed=0)), [])")
KERNEL_CELL = ONE_WORKER.format(epochs=100000)


def part_ddp() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        started = time.perf_counter()
        namespace: dict = {}
        exec(ONE_WORKER.format(epochs=3), namespace)  # the same code the killed kernel runs below
        result = namespace["result"]
        seconds = time.perf_counter() - started
        accuracy = result.metrics.get("test_accuracy", 0.0)
        print(f"one torchrun worker on cuda (NCCL): {seconds:.1f} s, test accuracy {accuracy:.2%}, "
              f"world size {result.extra.get('world_size')}")
        if accuracy < 0.9 or result.extra.get("world_size") != 1:
            return failed(f"the one-worker NCCL run reached {accuracy:.2%} (world size {result.extra.get('world_size')})")
        exit_seconds, left = kill_a_kernel_mid_run(Path(tmp))
    if left:
        return failed(f"still alive {exit_seconds:.1f} s after the kernel's SIGKILL: {left}")
    return ok(f"NCCL run {seconds:.1f} s, {accuracy:.2%}; workers and their GPU memory gone {exit_seconds:.1f} s "
              f"after the kernel's SIGKILL", run_seconds=seconds, exit_seconds=exit_seconds)


def kill_a_kernel_mid_run(folder: Path) -> tuple[float, list[str]]:
    """A real kernel trains through torchrun with one GPU worker; SIGKILL it: (seconds until the agent,
    the worker and its GPU process are gone, what is still there)."""
    import psutil
    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(folder), env={**os.environ, "TMPDIR": str(folder)})
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.execute(KERNEL_CELL)
        deadline = time.monotonic() + 30
        while not any('"on_epoch_end"' in p.read_text() for p in folder.glob("colabmagic-ddp-*/events.jsonl")):
            if time.monotonic() > deadline:
                raise RuntimeError("the kernel's one-worker run never finished an epoch")
            time.sleep(0.1)
        tree = psutil.Process(manager.provisioner.pid).children(recursive=True)
        if not any("colabmagic.train.ddp.worker" in " ".join(p.cmdline()) for p in tree):
            raise RuntimeError("no torchrun worker under the kernel: nothing to check")
        os.kill(manager.provisioner.pid, signal.SIGKILL)
        killed = time.monotonic()
        manager.provisioner.process.wait()
        pids = {p.pid for p in tree}
        while time.monotonic() - killed < 20:
            alive = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
            on_gpu = pids & gpu_pids()
            if not alive and not on_gpu:
                return time.monotonic() - killed, []
            time.sleep(0.1)
        return time.monotonic() - killed, [" ".join(p.cmdline())[:80] for p in alive] + [f"GPU pid {p}" for p in on_gpu]
    finally:
        client.stop_channels()
        if manager.has_kernel and manager.is_alive():
            manager.shutdown_kernel(now=True)


def gpu_pids() -> set[int]:
    out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"],
                         capture_output=True, text=True)
    return {int(line) for line in out.stdout.split() if line.strip().isdigit()}


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "tests")]
    sys.exit(main())
