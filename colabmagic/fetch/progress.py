"""The one byte progress bar of every download (Kaggle, Drive, plain URLs, the training data sets),
fed by `progress(done, total)` calls, with sizes and rates as units.py writes them.

The notebook widget inside a Jupyter kernel, the text bar elsewhere (tqdm_class). tqdm is imported
on first use, never at module level, so `%load_ext colabmagic` stays cheap.
"""

from __future__ import annotations

import functools
import sys

from .. import units

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {done}/{size} [{elapsed}<{remaining}, {speed}]"


def tqdm_class():
    """tqdm's notebook bar when the running shell is a Jupyter kernel's, else its text bar.

    Not tqdm.auto: it decides once per process, by whether ipykernel's shell module was ever imported,
    so a terminal IPython or a script that merely imported it (a kernel client, say) would draw a
    widget that nobody sees."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if type(shell).__name__ == "ZMQInteractiveShell":
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return _in_our_units(tqdm)


@functools.cache
def _in_our_units(tqdm: type) -> type:
    """tqdm with {done}, {size} and {speed} for BAR_FORMAT: tqdm's own scaling writes 1024-based
    sizes as "MB" and rates in MB/s of 1024**2 bytes."""

    class ByteBar(tqdm):
        @property
        def format_dict(self):
            values = super().format_dict
            n, total, elapsed = values["n"], values["total"], values["elapsed"]
            rate = values.get("rate") or ((n - values.get("initial", 0)) / elapsed if elapsed else 0)
            values.update(done=units.size(n), size=units.size(total) if total else "?",
                          speed=units.rate(rate) if rate else "? MB/s")
            return values

    return ByteBar


class ByteProgress:
    """Callable as `progress(done, total)` (the shape the downloader and gdown call).

    Several files can feed one bar: `start_file(name)` moves the base so their bytes add up.
    `enabled=False` draws nothing and only counts; `leave=False` removes the bar when closed.
    """

    def __init__(self, desc: str, *, enabled: bool = True, leave: bool = True):
        self.desc = desc
        self.enabled, self.leave = enabled, leave
        self.bytes = 0  # bytes counted over all files so far
        self._base = 0  # bytes of the files finished before the current one
        self._bar = None

    def start_file(self, name: str) -> None:
        self._base = self.bytes
        if self._bar is not None:
            self._bar.set_description(name, refresh=False)
        else:
            self.desc = name

    def __call__(self, done: int, total: int | None) -> None:
        self.bytes = self._base + done
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = tqdm_class()(desc=self.desc, unit="B", bar_format=BAR_FORMAT, leave=self.leave,
                                     miniters=1, mininterval=0.2, dynamic_ncols=True)
        bar_total = None if total is None else self._base + total
        if bar_total != self._bar.total:
            self._bar.total = bar_total
        self._bar.update(self.bytes - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
