"""What a notebook shows for an instance: the frame, the --list table, the --stop summary."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

from ..columns import width
from ..locale import mark, tr
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
        instance = self.instance
        if self.reused:
            return tr("TensorBoard on port {port} for {logdir}: reused (pid {pid}, up {uptime})").format(
                port=instance.port, logdir=instance.logdir, pid=instance.pid, uptime=_duration(instance.uptime()))
        return tr("TensorBoard on port {port} for {logdir}: started (pid {pid})").format(
            port=instance.port, logdir=instance.logdir, pid=instance.pid)

    def _repr_html_(self) -> str:
        link = html.escape(tr("open in a tab"))
        return (f"<div style='font:12px sans-serif;opacity:.75'>{html.escape(self.headline())} · "
                f"<a href='{html.escape(self.src, quote=True)}' target='_blank'>{link}</a></div>"
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
                 tr("kept") if i.owner_pid is None else tr("kernel {pid}").format(pid=i.owner_pid),
                 self.urls.get(i.port, i.local_url)] for i in self.instances]

    HEADER = [mark("port"), "logdir", "pid", mark("uptime"), mark("ends with"), mark("URL")]  # logdir, pid: names

    def header(self) -> list[str]:
        return [tr(column) for column in self.HEADER]

    def __str__(self) -> str:
        if not self.instances:
            return tr("No TensorBoard started by colabmagic is running.")
        table = [self.header()] + self.rows()
        widths = [max(width(row[c]) for row in table) for c in range(len(self.HEADER))]
        return "\n".join("  ".join(cell + " " * (w - width(cell)) for cell, w in zip(row, widths)).rstrip()
                         for row in table)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        if not self.instances:
            return f"<p>{html.escape(str(self))}</p>"
        head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in self.header())
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
            return tr("No TensorBoard started by colabmagic was running.")
        return "\n".join(tr("Stopped TensorBoard on port {port} (pid {pid}, {logdir})").format(
            port=i.port, pid=i.pid, logdir=i.logdir) for i in self.instances)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))
