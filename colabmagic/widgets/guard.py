"""Errors inside a widget's callbacks show in the widget, not in a browser console.

ipywidgets runs button clicks and trait observers in the kernel; an exception there is logged
where nobody looks. `guarded(output, fn)` runs fn and, on an error, appends one line (our own
ColabMagicError: its message) or the traceback (a bug) to the widget's Output area.
"""

from __future__ import annotations

import functools
import traceback

from ..errors import ColabMagicError


def report(output, err: BaseException) -> None:
    if isinstance(err, ColabMagicError):
        output.append_stderr(f"{err}\n")
    else:
        output.append_stderr("".join(traceback.format_exception(type(err), err, err.__traceback__)))


def guarded(output, fn, *, result_on_error=None):
    """fn wrapped so that an exception goes to `output` (an ipywidgets.Output) and is not raised."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            report(output, err)
            return result_on_error

    return wrapper
