"""Bytes as people read them, one convention for the whole project (DESIGN §1): sizes of memory,
disks and files in binary units (KiB, MiB, GiB, TiB: what `free -h`, %resources and the toolbar
show), transfer rates in decimal MB/s (what network and disk speeds are quoted in)."""

from __future__ import annotations

_BINARY = ("KiB", "MiB", "GiB", "TiB", "PiB")


def size(count: float) -> str:
    """512 B, 1.5 KiB, 64.0 MiB, 23.5 GiB."""
    value = float(count)
    if abs(value) < 1024:
        return f"{value:.0f} B"
    for unit in _BINARY:
        value /= 1024
        if abs(value) < 1024 or unit == _BINARY[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def rate(bytes_per_second: float) -> str:
    """24.4 MB/s, 850 kB/s, 1.20 GB/s."""
    value = float(bytes_per_second)
    if value >= 1e9:
        return f"{value / 1e9:.2f} GB/s"
    if value >= 1e6:
        return f"{value / 1e6:.1f} MB/s"
    return f"{value / 1e3:.0f} kB/s"
