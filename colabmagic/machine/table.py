"""The %gpu_info table: a Snapshot drawn as terminal text and as notebook HTML.

One list of sections feeds both forms. machine.snapshot holds the readings; this module only
words and draws them (the %resources monitor reuses its sizes and bar colours). Plain Python: no
IPython, no ipywidgets. Its functions take the readings (a Snapshot, its GpuInfo, GpuProcess and
HostInfo) without importing machine.snapshots, which imports this module to draw a Snapshot:
imports only go one way. Sizes are units.size's (GiB/MiB for memory).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass
from html import escape as esc

from .. import units
from ..columns import padded
from ..columns import width as columns
from ..locale import mark, tr

__all__ = ["bar_colour", "columns", "cpu_use", "no_gpu_line", "padded", "render_html", "render_text", "size", "used_of"]


NA = "N/A"
THIS_KERNEL = mark("(this kernel)")
COMMAND_WIDTH = 80  # characters of a process's command line shown


@dataclass
class _Line:
    label: str
    text: str
    fraction: float | None = None  # draws a usage bar
    table: list[list[str]] | None = None  # header row first
    marked: int | None = None  # table row (0 = first data row) to emphasise


def _sections(snap) -> list[tuple[str, list[_Line]]]:
    sections = [(_gpu_title(g), _gpu_lines(g, snap.processes_read)) for g in snap.gpus]
    if snap.accelerators:
        sections.append((tr("torch accelerators"),
                         [_Line(f"{a.backend}:{a.index}", a.name) for a in snap.accelerators]))
    sections.append((tr("Host"), _host_lines(snap.host)))
    return sections


def _gpu_title(g) -> str:
    return f"GPU {g.index}: {g.name or NA}"


def _gpu_lines(g, processes_read: bool) -> list[_Line]:
    def known(value, fmt="{}"):
        return NA if value is None else fmt.format(value)

    def on_off(value):
        return NA if value is None else (tr("on") if value else tr("off"))

    lines = [
        _Line("UUID", known(g.uuid)),
        _Line(tr("driver"), tr("{driver}, CUDA {cuda}, compute capability {capability}").format(
            driver=known(g.driver_version), cuda=known(g.cuda_driver_version), capability=known(g.compute_capability))),
        _Line(tr("memory"), used_of(g.memory_used, g.memory_total), g.memory_fraction),
        _Line(tr("utilisation"), tr("GPU {gpu}, memory {memory}").format(
            gpu=known(g.gpu_utilization, "{}%"), memory=known(g.memory_utilization, "{}%"))),
        _Line(tr("temperature"), known(g.temperature, "{} °C")),
        _Line(tr("power"), f"{known(g.power_draw, '{:.0f}')} / {known(g.power_limit, '{:.0f}')} W"),
        _Line(tr("SM clock"), known(g.sm_clock, "{} MHz")),
        _Line("PCIe", tr("gen {generation} x{width}").format(
            generation=known(g.pcie_generation), width=known(g.pcie_width))),
        _Line(tr("persistence"), on_off(g.persistence_mode)),
        _Line("MIG", on_off(g.mig_mode)),
    ]
    for m in g.mig_devices:
        fraction = m.memory_used / m.memory_total if m.memory_used is not None and m.memory_total else None
        lines.append(_Line(f"  MIG {m.index}", f"{known(m.name)}: {used_of(m.memory_used, m.memory_total)}",
                           fraction))
    if processes_read:
        lines.append(_process_line(g.processes))
    return lines


def _process_line(processes) -> _Line:
    if processes is None:
        return _Line(tr("processes"), NA)
    if not processes:
        return _Line(tr("processes"), tr("none"))
    rows = [["PID", tr("USER"), tr("GPU MEMORY"), tr("COMMAND")]]
    marked = None
    for i, p in enumerate(processes):
        command = _shorten(p.command or NA, COMMAND_WIDTH)  # the whole line stays in .processes
        if p.this_kernel:
            marked = i
            command = f"{command} {tr(THIS_KERNEL)}"
        rows.append([str(p.pid), p.user or NA, size(p.gpu_memory), command])
    return _Line(tr("processes"), "", table=rows, marked=marked)


def _host_lines(h) -> list[_Line]:
    cores = tr("{logical} logical / {physical} physical cores").format(
        logical=h.logical_cores or NA, physical=h.physical_cores or NA)
    lines = [_Line("CPU", f"{h.cpu_model}, {cores}")]
    if h.cpu_percent is None:
        lines.append(_Line(tr("CPU use"), NA))
    else:
        lines.append(_Line(tr("CPU use"), cpu_use(h.cpu_percent, h.logical_cores), h.cpu_percent / 100))
    if h.load_average is not None:
        # runnable processes averaged over 1, 5 and 15 minutes: not a percentage
        lines.append(_Line(tr("load average"), tr("{averages} (1, 5, 15 min)").format(
            averages=" ".join(f"{x:.2f}" for x in h.load_average))))
    lines.append(_Line(tr("RAM"), used_of(h.memory_used, h.memory_total), _fraction(h.memory_used, h.memory_total)))
    if h.swap_total:
        lines.append(_Line(tr("swap"), used_of(h.swap_used, h.swap_total), _fraction(h.swap_used, h.swap_total)))
    else:
        lines.append(_Line(tr("swap"), tr("none")))
    home = _home(os.environ.get("HOME"))
    for d in h.disks:
        where = ", ".join("~" if p == home else p for p in d.paths)
        lines.append(_Line(tr("disk"), tr("{where}: {used}, {free} free").format(
            where=where, used=used_of(d.used, d.total), free=size(d.free)), _fraction(d.used, d.total)))
    return lines


def cpu_use(percent: float, cores: int | None) -> str:
    """'37% of 16 cores' (the share of all cores, as psutil gives it)."""
    if not cores:
        return f"{percent:.0f}%"
    return tr("{percent:.0f}% of {cores} cores").format(percent=percent, cores=cores)


@functools.lru_cache(maxsize=4)
def _home(home_variable: str | None) -> str:
    """The home folder, shown as ~ (expanduser costs ~15% of a table: asked once per $HOME)."""
    return os.path.expanduser("~")


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _fraction(used, total) -> float | None:
    return used / total if used is not None and total else None


def size(n: int | None) -> str:
    """units.size, or N/A where the driver did not report the number."""
    return NA if n is None else units.size(n)


def used_of(used: int | None, total: int | None) -> str:
    if used is None and total is None:
        return NA
    share = f" ({100 * used / total:.0f}%)" if used is not None and total else ""
    return f"{size(used)} / {size(total)}{share}"


def _when(snap) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snap.taken_at))


def no_gpu_line(snap) -> str | None:
    """Why the reading lists no NVIDIA GPU, as a sentence; None when NVML answered."""
    if snap.gpu_problem is None:
        return None
    return tr("No NVIDIA GPU visible: {problem}").format(problem=snap.gpu_problem)



LABEL_WIDTH = 12
BAR_WIDTH = 20


def render_text(snap) -> str:
    out = [tr("gpu_info at {when}").format(when=_when(snap))]
    problem = no_gpu_line(snap)
    if problem:
        out.append(problem)
    for title, lines in _sections(snap):
        out.append(title)
        for line in lines:
            out.extend(_text_line(line))
    return "\n".join(out)


def _text_line(line: _Line) -> list[str]:
    lead = f"  {padded(line.label, LABEL_WIDTH)} "
    if line.table is not None:
        widths = [max(columns(row[c]) for row in line.table) for c in range(len(line.table[0]) - 1)]
        rows = []
        for row in line.table:
            # numbers right-aligned, words left-aligned; the command runs free at the end
            cells = [padded(row[0], widths[0], right=True), padded(row[1], widths[1]),
                     padded(row[2], widths[2], right=True), row[3]]
            rows.append("  ".join(cells))
        return [lead + rows[0]] + [" " * columns(lead) + r for r in rows[1:]]
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


def bar_colour(fraction: float) -> str:
    if fraction >= 0.95:
        return "#e53935"
    if fraction >= 0.8:
        return "#fb8c00"
    return "#1e88e5"


def render_html(snap) -> str:
    parts = ['<div class="colabmagic-gpu-info" style="color:inherit">']
    problem = no_gpu_line(snap)
    if problem:
        parts.append(f'<div style="{_NOTE}">{esc(problem)}</div>')
    parts.append(f'<table style="{_TABLE}">')
    for title, lines in _sections(snap):
        parts.append(f'<tr style="{_ROW}"><th colspan="2" style="{_TITLE}">{esc(title)}</th></tr>')
        for line in lines:
            parts.append(f'<tr style="{_ROW}"><td style="{_LABEL}">{esc(line.label.strip())}</td>'
                         f'<td style="{_CELL}">{_html_value(line)}</td></tr>')
    read_at = esc(tr("read at {when}").format(when=_when(snap)))
    parts.append(f'</table><div style="opacity:.6;font-size:11px;margin-top:4px">{read_at}</div></div>')
    return "".join(parts)


def _html_value(line: _Line) -> str:
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
           f'background:{bar_colour(share)}"></span></span>')
    return bar + esc(line.text)
