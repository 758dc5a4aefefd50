"""What a notebook shows for an instance: the frame, the --list table, the --stop summary."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

from .manager import Instance


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


@dataclass
class TensorBoardFrame:
    """TensorBoard itself in an iframe served through the Jupyter server."""

    instance: Instance
    src: str
    height: int = 800
    reused: bool = False

    def headline(self) -> str:
        how = (f"reused (pid {self.instance.pid}, up {_duration(self.instance.uptime())})" if self.reused
               else f"started (pid {self.instance.pid})")
        return f"TensorBoard on port {self.instance.port} for {self.instance.logdir}: {how}"

    def _repr_html_(self) -> str:
        return (f"<div style='font:12px sans-serif;opacity:.75'>{html.escape(self.headline())} · "
                f"<a href='{html.escape(self.src, quote=True)}' target='_blank'>open in a tab</a></div>"
                f"<iframe src='{html.escape(self.src, quote=True)}' width='100%' height='{int(self.height)}' "
                f"frameborder='0' style='border:1px solid rgba(128,128,128,.3)'></iframe>")

    def __str__(self) -> str:
        return f"{self.headline()}\n{self.src}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


@dataclass
class InstanceList:
    """`--list`: the live instances, with the URL a browser uses for each."""

    instances: list[Instance]
    urls: dict[int, str] = field(default_factory=dict)  # port -> URL
    now: float = field(default_factory=time.time)

    def rows(self) -> list[list[str]]:
        return [[str(i.port), i.logdir, str(i.pid), _duration(i.uptime(self.now)),
                 "kept" if i.owner_pid is None else f"kernel {i.owner_pid}",
                 self.urls.get(i.port, i.local_url)] for i in self.instances]

    HEADER = ["port", "logdir", "pid", "uptime", "ends with", "URL"]

    def __str__(self) -> str:
        if not self.instances:
            return "No TensorBoard started by colabmagic is running."
        table = [self.HEADER] + self.rows()
        widths = [max(len(row[c]) for row in table) for c in range(len(self.HEADER))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        if not self.instances:
            return f"<p>{html.escape(str(self))}</p>"
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in self.HEADER)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row[:-1])
                       + f"<td><a href='{html.escape(row[-1], quote=True)}' target='_blank'>"
                         f"{html.escape(row[-1])}</a></td></tr>" for row in self.rows())
        return f"<table><tr>{head}</tr>{body}</table>"


@dataclass
class Stopped:
    """`--stop`: what was stopped."""

    instances: list[Instance]

    def __str__(self) -> str:
        if not self.instances:
            return "No TensorBoard started by colabmagic was running."
        return "\n".join(f"Stopped TensorBoard on port {i.port} (pid {i.pid}, {i.logdir})" for i in self.instances)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))
