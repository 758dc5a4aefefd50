"""What every magic shares: turning user errors into one line, and the -o/-v/-q result options."""

from __future__ import annotations

import functools

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import argument, parse_argstring

from ..errors import ColabMagicError


def reports_errors(method):
    """Show a ColabMagicError as IPython's UsageError: one red line, no traceback.

    Any other exception is a bug and keeps its traceback.
    """

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except ColabMagicError as err:
            raise UsageError(str(err)) from None

    return wrapper


def output_arguments(method):
    """Add %timeit's result conventions: -o returns the result object, -v NAME stores it."""
    method = argument("-v", "--variable", metavar="NAME", help="Store the result in NAME in the user namespace.")(method)
    return argument("-o", "--output", action="store_true", help="Return the result object.")(method)


def result_arguments(method):
    """output_arguments plus -q, which prints nothing (as in %timeit)."""
    method = argument("-q", "--quiet", action="store_true", help="Print nothing.")(method)
    return output_arguments(method)


class ColabMagics(Magics):
    """Base class for our Magics: parses arguments and delivers a result the way the user asked."""

    @staticmethod
    def parse(method, line: str):
        """parse_argstring plus checks shared by every magic, before any work starts."""
        args = parse_argstring(method, line)
        variable = getattr(args, "variable", None)
        if variable is not None and not variable.isidentifier():
            raise UsageError(f"-v needs a Python variable name, not {variable!r}")
        return args

    def deliver(self, result, args, *, show: bool | None = None):
        """Store (-v), display (unless -q, or as `show` says) and return (-o) a result."""
        if getattr(args, "variable", None):
            self.shell.user_ns[args.variable] = result
        if show if show is not None else not getattr(args, "quiet", False):
            from IPython.display import display

            display(result)
        return result if getattr(args, "output", False) else None
