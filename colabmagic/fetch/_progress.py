"""One byte-counting progress bar (tqdm: bytes, speed, ETA) fed by `progress(done, total)` callbacks.

The notebook widget inside a Jupyter kernel, the text bar elsewhere (tqdm_class). tqdm is imported
on first use, never at module level, so `%load_ext colabmagic` stays cheap.
"""

from __future__ import annotations

import sys


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
    return tqdm


class ByteProgress:
    """Callable as `progress(done, total)` (the shape `_http.download` and gdown call).

    Several files can feed one bar: `start_file(name)` moves the base so their bytes add up.
    `enabled=False` draws nothing and only counts.
    """

    def __init__(self, desc: str, *, enabled: bool = True):
        self.desc = desc
        self.enabled = enabled
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
            self._bar = tqdm_class()(desc=self.desc, unit="B", unit_scale=True, unit_divisor=1024,
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
