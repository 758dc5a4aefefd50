"""What this machine has and how busy it is: NVIDIA GPUs (NVML), CPU, RAM, swap, disks.

`snapshot()` is the one entry point; %gpu_info, the resource monitor and the JupyterLab toolbar
all read it, so a warm call stays well under a millisecond without a GPU. psutil and pynvml load
on the first call, never at import. torch is consulted only when the user already imported it:
asking torch about devices must never cost an import or a CUDA context.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
import threading
import time
from dataclasses import dataclass
from typing import Iterator

from .errors import ConfigError
from .nvml import GpuInfo, GpuProcess, MigDevice, read_gpus, shutdown

__all__ = ["Accelerator", "Disk", "GpuInfo", "GpuProcess", "HostInfo", "MigDevice", "Snapshot",
           "shutdown", "snapshot", "watch"]


@dataclass
class Disk:
    """One filesystem, measured at the folders that live on it."""

    paths: list[str]  # the working directory and/or the home folder
    total: int  # bytes
    used: int  # bytes
    free: int  # bytes available to an ordinary user (root's reserve excluded)

    @property
    def label(self) -> str:
        return ", ".join(self.paths)


@dataclass
class HostInfo:
    cpu_model: str
    logical_cores: int | None
    physical_cores: int | None
    cpu_percent: float | None  # busy share of all cores since the previous snapshot; None on the first
    load_average: tuple[float, float, float] | None  # 1, 5, 15 minutes; None where the OS has none
    memory_total: int  # bytes
    memory_available: int  # bytes a new process can get without swapping
    memory_used: int  # bytes: total - available, as Colab counts it
    swap_total: int  # bytes
    swap_used: int  # bytes
    disks: list[Disk]


@dataclass
class Accelerator:
    """A non-NVIDIA device that an already imported torch can use (NVIDIA GPUs come from NVML)."""

    backend: str  # torch's device type: "mps", "xpu"
    index: int
    name: str


@dataclass
class Snapshot:
    taken_at: float  # time.time() when read
    gpus: list[GpuInfo]
    gpu_problem: str | None  # why no NVIDIA GPU is listed; None when NVML answered
    host: HostInfo
    accelerators: list[Accelerator]
    processes_read: bool  # whether GPU process lists were asked for

    def to_dict(self) -> dict:
        """Plain JSON-ready data: every field, bytes as integers, None where not reported."""
        return dataclasses.asdict(self)

    def to_colab_resources(self) -> dict:
        """The body Colab's `/api/colab/resources` returns, with the same keys and units.

        Like Colab, utilisations are fractions 0..1, "freeBytes" is available memory and
        "everUsed" says the GPU holds memory. Values the driver did not report are 0, since
        Colab's frontend expects numbers. Disks are labelled with the folders measured.
        """
        host = self.host
        return {
            "memory": {"totalBytes": host.memory_total, "freeBytes": host.memory_available},
            "disks": [{"filesystem": {"label": d.label, "totalBytes": d.total, "usedBytes": d.used}}
                      for d in host.disks],
            "gpus": [{
                "name": g.name or "",
                "memoryUsedBytes": g.memory_used or 0,
                "memoryTotalBytes": g.memory_total or 0,
                "gpuUtilization": (g.gpu_utilization or 0) / 100,
                "memoryUtilization": (g.memory_utilization or 0) / 100,
                "everUsed": bool(g.memory_used),
            } for g in self.gpus],
        }

    def __str__(self) -> str:
        return _render_text(self)

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))

    def _repr_html_(self) -> str:
        return _render_html(self)


def snapshot(processes: bool = True) -> Snapshot:
    """Read every GPU and the host now. processes=False skips the per-GPU process lists,
    the slowest part on a busy GPU (a /proc lookup per process)."""
    import psutil

    gpus, problem = read_gpus(processes)
    return Snapshot(taken_at=time.time(), gpus=gpus, gpu_problem=problem, host=_read_host(psutil),
                    accelerators=_torch_accelerators(), processes_read=processes)


def watch(seconds: float, count: int | None = None, *, processes: bool = True) -> Iterator[Snapshot]:
    """Yield a snapshot now and then every `seconds`, `count` in all (None: until interrupted)."""
    if not seconds > 0:
        raise ConfigError(f"watch interval must be a number of seconds > 0, not {seconds!r}")
    if count is not None and count < 1:
        raise ConfigError(f"count must be at least 1, not {count!r}")
    return _readings(seconds, count, processes)


def _readings(seconds, count, processes):
    due = time.monotonic()
    taken = 0
    while True:
        yield snapshot(processes)
        taken += 1
        if count is not None and taken >= count:
            return
        # keep the cadence, but never queue up readings after a slow display
        due = max(due + seconds, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))


# ---------------------------------------------------------------- host readings


def _read_host(psutil) -> HostInfo:
    model, logical, physical = _cpu_static()
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    try:
        load = tuple(round(x, 2) for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows has no load average
        load = None
    return HostInfo(
        cpu_model=model, logical_cores=logical, physical_cores=physical,
        cpu_percent=_cpu_percent(psutil), load_average=load,
        memory_total=memory.total, memory_available=memory.available,
        memory_used=memory.total - memory.available,
        swap_total=swap.total, swap_used=swap.used,
        disks=_read_disks(psutil),
    )


@functools.cache
def _cpu_static() -> tuple[str, int | None, int | None]:
    import psutil

    return _cpu_model(), psutil.cpu_count(logical=True), psutil.cpu_count(logical=False)


def _cpu_model() -> str:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    # x86 says "model name"; many ARM kernels only "Model" or "Hardware"
                    if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                        return value.strip()
        except OSError:
            pass
    elif sys.platform == "darwin":
        import subprocess

        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                 capture_output=True, text=True, timeout=2)
            if out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


class _CpuClock:
    """Our own previous CPU times: psutil.cpu_percent(None) shares its state with every caller."""

    lock = threading.Lock()
    last = None
    percent = None


def _cpu_percent(psutil) -> float | None:
    now = psutil.cpu_times()
    with _CpuClock.lock:
        before, _CpuClock.last = _CpuClock.last, now
        if before is None:
            return None
        # guest time is already inside user time on Linux
        total = _cpu_total(now) - _cpu_total(before)
        idle = (now.idle + getattr(now, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
        if total > 0:  # two readings within one clock tick: keep the last answer
            _CpuClock.percent = round(max(0.0, min(100.0, 100 * (total - idle) / total)), 1)
        return _CpuClock.percent


def _cpu_total(times) -> float:
    return sum(times) - getattr(times, "guest", 0) - getattr(times, "guest_nice", 0)


def _read_disks(psutil) -> list[Disk]:
    paths = []
    try:
        paths.append(os.getcwd())
    except OSError:  # the working directory was deleted
        pass
    home = os.path.expanduser("~")
    if home != "~" and home not in paths:
        paths.append(home)
    by_device: dict[int, Disk] = {}
    for path in paths:
        try:
            device = os.stat(path).st_dev
            if device in by_device:  # the same filesystem: one line, both folders
                by_device[device].paths.append(path)
                continue
            usage = psutil.disk_usage(path)
        except OSError:
            continue
        by_device[device] = Disk(paths=[path], total=usage.total, used=usage.used, free=usage.free)
    return list(by_device.values())


_accelerators_seen: tuple[int, list[Accelerator]] | None = None


def _torch_accelerators() -> list[Accelerator]:
    """MPS / XPU devices, only when torch is already imported; availability never changes
    within a process, so the answer is kept. Device names would need a device context: no."""
    global _accelerators_seen
    torch = sys.modules.get("torch")
    if torch is None:
        return []
    if _accelerators_seen is not None and _accelerators_seen[0] == id(torch):
        return _accelerators_seen[1]
    found = []
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    if mps is not None and mps.is_available():
        found.append(Accelerator("mps", 0, "Apple Metal (MPS)"))
    xpu = getattr(torch, "xpu", None)
    if xpu is not None and xpu.is_available():
        found.extend(Accelerator("xpu", i, "Intel XPU") for i in range(xpu.device_count()))
    _accelerators_seen = (id(torch), found)
    return found


# ---------------------------------------------------------------- rendering
# One list of sections feeds both the terminal text and the notebook HTML.

NA = "N/A"
THIS_KERNEL = "(this kernel)"
COMMAND_WIDTH = 80  # characters of a process's command line shown


@dataclass
class _Line:
    label: str
    text: str
    fraction: float | None = None  # draws a usage bar
    table: list[list[str]] | None = None  # header row first
    marked: int | None = None  # table row (0 = first data row) to emphasise


def _sections(snap: Snapshot) -> list[tuple[str, list[_Line]]]:
    sections = [(_gpu_title(g), _gpu_lines(g, snap.processes_read)) for g in snap.gpus]
    if snap.accelerators:
        sections.append(("torch accelerators",
                         [_Line(f"{a.backend}:{a.index}", a.name) for a in snap.accelerators]))
    sections.append(("Host", _host_lines(snap.host)))
    return sections


def _gpu_title(g: GpuInfo) -> str:
    return f"GPU {g.index}: {g.name or NA}"


def _gpu_lines(g: GpuInfo, processes_read: bool) -> list[_Line]:
    def known(value, fmt="{}"):
        return NA if value is None else fmt.format(value)

    def on_off(value):
        return NA if value is None else ("on" if value else "off")

    lines = [
        _Line("UUID", known(g.uuid)),
        _Line("driver", f"{known(g.driver_version)}, CUDA {known(g.cuda_driver_version)}, "
                        f"compute capability {known(g.compute_capability)}"),
        _Line("memory", _used_of(g.memory_used, g.memory_total), g.memory_fraction),
        _Line("utilisation", f"GPU {known(g.gpu_utilization, '{}%')}, "
                             f"memory {known(g.memory_utilization, '{}%')}"),
        _Line("temperature", known(g.temperature, "{} °C")),
        _Line("power", f"{known(g.power_draw, '{:.0f}')} / {known(g.power_limit, '{:.0f}')} W"),
        _Line("SM clock", known(g.sm_clock, "{} MHz")),
        _Line("PCIe", f"gen {known(g.pcie_generation)} x{known(g.pcie_width)}"),
        _Line("persistence", on_off(g.persistence_mode)),
        _Line("MIG", on_off(g.mig_mode)),
    ]
    for m in g.mig_devices:
        fraction = m.memory_used / m.memory_total if m.memory_used is not None and m.memory_total else None
        lines.append(_Line(f"  MIG {m.index}", f"{known(m.name)}: {_used_of(m.memory_used, m.memory_total)}",
                           fraction))
    if processes_read:
        lines.append(_process_line(g.processes))
    return lines


def _process_line(processes: list[GpuProcess] | None) -> _Line:
    if processes is None:
        return _Line("processes", NA)
    if not processes:
        return _Line("processes", "none")
    rows = [["PID", "USER", "GPU MEMORY", "COMMAND"]]
    marked = None
    for i, p in enumerate(processes):
        command = _shorten(p.command or NA, COMMAND_WIDTH)  # the whole line stays in .processes
        if p.this_kernel:
            marked = i
            command = f"{command} {THIS_KERNEL}"
        rows.append([str(p.pid), p.user or NA, _size(p.gpu_memory), command])
    return _Line("processes", "", table=rows, marked=marked)


def _host_lines(h: HostInfo) -> list[_Line]:
    cores = f"{h.logical_cores or NA} logical / {h.physical_cores or NA} physical cores"
    busy = [] if h.cpu_percent is None else [f"{h.cpu_percent:.0f}% busy"]
    if h.load_average is not None:
        busy.append("load " + " ".join(f"{x:.2f}" for x in h.load_average))
    lines = [_Line("CPU", f"{h.cpu_model}, {cores}")]
    if busy:
        lines.append(_Line("CPU use", ", ".join(busy)))
    lines.append(_Line("RAM", _used_of(h.memory_used, h.memory_total), _fraction(h.memory_used, h.memory_total)))
    if h.swap_total:
        lines.append(_Line("swap", _used_of(h.swap_used, h.swap_total), _fraction(h.swap_used, h.swap_total)))
    else:
        lines.append(_Line("swap", "none"))
    home = os.path.expanduser("~")
    for d in h.disks:
        where = ", ".join("~" if p == home else p for p in d.paths)
        lines.append(_Line("disk", f"{where}: {_used_of(d.used, d.total)}, {_size(d.free)} free",
                           _fraction(d.used, d.total)))
    return lines


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _fraction(used, total) -> float | None:
    return used / total if used is not None and total else None


def _size(n: int | None) -> str:
    if n is None:
        return NA
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.0f} MiB"


def _used_of(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return NA
    share = f" ({100 * used / total:.0f}%)" if used is not None and total else ""
    return f"{_size(used)} / {_size(total)}{share}"


def _when(snap: Snapshot) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap.taken_at))


def _no_gpu_line(snap: Snapshot) -> str | None:
    if snap.gpu_problem is None:
        return None
    return f"No NVIDIA GPU visible: {snap.gpu_problem}"


LABEL_WIDTH = 12
BAR_WIDTH = 20


def _render_text(snap: Snapshot) -> str:
    out = [f"gpu_info at {_when(snap)}"]
    problem = _no_gpu_line(snap)
    if problem:
        out.append(problem)
    for title, lines in _sections(snap):
        out.append(title)
        for line in lines:
            out.extend(_text_line(line))
    return "\n".join(out)


def _text_line(line: _Line) -> list[str]:
    lead = f"  {line.label:<{LABEL_WIDTH}} "
    if line.table is not None:
        widths = [max(len(row[c]) for row in line.table) for c in range(len(line.table[0]) - 1)]
        rows = []
        for row in line.table:
            # numbers right-aligned, words left-aligned; the command runs free at the end
            cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2]), row[3]]
            rows.append("  ".join(cells))
        return [lead + rows[0]] + [" " * len(lead) + r for r in rows[1:]]
    if line.fraction is None:
        return [lead + line.text]
    filled = round(max(0.0, min(1.0, line.fraction)) * BAR_WIDTH)
    return [f"{lead}[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {line.text}"]


# Inline styles only: the HTML must look right in JupyterLab light and dark, Notebook 7, VS Code
# and on GitHub, so text inherits the theme's colour and the bar track is a translucent grey.
# Each element restates alignment, padding and background because JupyterLab's rendered-HTML
# rules right-align cells, stripe rows and centre tables.
_TABLE = "border-collapse:collapse;table-layout:auto;width:auto;margin:0;font-size:12px;line-height:1.5;color:inherit;background:transparent"
_CELL = "border:none;background:transparent;text-align:left;vertical-align:top;padding:1px 12px 1px 0"
_TITLE = _CELL + ";font-weight:600;padding-top:8px"
_LABEL = _CELL + ";opacity:.7;white-space:nowrap;padding-left:10px"
_ROW = "background:transparent"
_TRACK = ("display:inline-block;width:140px;height:9px;margin-right:8px;vertical-align:middle;"
          "background:rgba(128,128,128,.25);border-radius:3px;overflow:hidden")
_NOTE = "padding:3px 8px;margin:2px 0;border-left:3px solid #fb8c00;background:rgba(251,140,0,.12)"


def _bar_colour(fraction: float) -> str:
    if fraction >= 0.95:
        return "#e53935"
    if fraction >= 0.8:
        return "#fb8c00"
    return "#1e88e5"


def _render_html(snap: Snapshot) -> str:
    from html import escape as esc
    parts = ['<div class="colabmagic-gpu-info" style="color:inherit">']
    problem = _no_gpu_line(snap)
    if problem:
        parts.append(f'<div style="{_NOTE}">{esc(problem)}</div>')
    parts.append(f'<table style="{_TABLE}">')
    for title, lines in _sections(snap):
        parts.append(f'<tr style="{_ROW}"><th colspan="2" style="{_TITLE}">{esc(title)}</th></tr>')
        for line in lines:
            parts.append(f'<tr style="{_ROW}"><td style="{_LABEL}">{esc(line.label.strip())}</td>'
                         f'<td style="{_CELL}">{_html_value(line)}</td></tr>')
    parts.append(f'</table><div style="opacity:.6;font-size:11px;margin-top:4px">read at {_when(snap)}</div></div>')
    return "".join(parts)


def _html_value(line: _Line) -> str:
    from html import escape as esc
    if line.table is not None:
        rows = []
        for i, row in enumerate(line.table):
            tag = "th" if i == 0 else "td"
            weight = ";font-weight:600" if i == 0 or (line.marked is not None and i - 1 == line.marked) else ""
            cells = "".join(f'<{tag} style="{_CELL}{weight}">{esc(cell)}</{tag}>' for cell in row)
            rows.append(f'<tr style="{_ROW}">{cells}</tr>')
        return f'<table style="{_TABLE}">{"".join(rows)}</table>'
    if line.fraction is None:
        return esc(line.text)
    share = max(0.0, min(1.0, line.fraction))
    bar = (f'<span style="{_TRACK}"><span style="display:block;height:100%;width:{100 * share:.1f}%;'
           f'background:{_bar_colour(share)}"></span></span>')
    return bar + esc(line.text)
