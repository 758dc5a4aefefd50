"""What every magic shares: turning user errors into one line, and the -o/-v/-q result options."""

from __future__ import annotations

import argparse
import functools
import os
import shlex
from dataclasses import dataclass

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import argument, real_name

from ..errors import ColabMagicError
from ..locale import tr


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


def code_argument(name: str, help: str):
    """A positional argument holding the rest of the line as Python code, exactly as typed (a str).

    Like %timeit's statement: quotes, spaces and backslashes are the code's own, so a shell must
    not split it; the options before it are split as usual.
    """
    declare = argument(name, nargs=argparse.REMAINDER, help=help)

    def decorate(method):
        method = declare(method)
        method.code_arguments = (*getattr(method, "code_arguments", ()), name)
        return method

    return decorate


@dataclass
class Words:
    """A magic's line split into words as a POSIX shell splits it."""

    words: list[str]    # quotes removed: "my data/x.csv" is one word, my data/x.csv
    ends: list[int]     # ends[i]: where the line goes on after words[i] (and the blank ending it)
    error: str = ""     # why the line could not be split to its end ("" when it could)
    rest: int = 0       # where the part that could not be split begins (with error)


def split_words(line: str) -> Words:
    """Split like a shell: quotes group words, backslash escapes (not on Windows, where it separates
    folders), and `#` is an ordinary character; an unclosed quote is reported, not raised."""
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    if os.name == "nt":
        lexer.escape = ""
    words, ends = [], []
    while True:
        start = lexer.instream.tell()
        try:
            word = lexer.get_token()
        except ValueError:
            quote = lexer.state if lexer.state in lexer.quotes else None
            error = (tr("no closing {quote} quote; close it (quotes keep a path with spaces in one piece: "
                        "{example})").format(quote=quote, example='"my data/train set.csv"') if quote else
                     tr("no character after the last backslash; remove it or quote the word"))
            return Words(words, ends, error, start)
        if word is None:  # the end of the line (POSIX shlex returns None, never "", at the end)
            return Words(words, ends)
        words.append(word)
        ends.append(lexer.instream.tell())


def _magic_name(method) -> str:
    """%name or %%name, as the user typed it."""
    name = real_name(method)
    owner = getattr(method, "__self__", None)
    cell = name in getattr(owner, "magics", {}).get("cell", {})
    return ("%%" if cell else "%") + name


class ColabMagics(Magics):
    """Base class for our Magics: parses arguments and delivers a result the way the user asked."""

    @staticmethod
    def parse(method, line: str):
        """Split the line as a shell does, parse it, and run the checks shared by every magic.

        IPython's parse_argstring splits with shlex in non-POSIX mode, which keeps the quotes in a
        word (`"my data/x.csv"` stays quoted) and raises ValueError on an unbalanced one; we split
        in POSIX mode instead (quotes group words and go away) and word a bad line as one UsageError.
        A code_argument gets the rest of the line exactly as typed, however a shell would split it.
        """
        magic = _magic_name(method)
        split = split_words(line)
        argv = list(split.words)
        code = getattr(method, "code_arguments", ())
        if split.error and not code:
            raise UsageError(f"{magic}: {split.error}")
        if split.error:  # the rest may be Python that a shell cannot split: one word, checked below
            argv.append(line[split.rest:].strip())
        try:
            args = method.parser.parse_args(argv)
        except UsageError:
            if split.error:  # e.g. -n "3: the unclosed quote is the cause, not the option's value
                raise UsageError(f"{magic}: {split.error}") from None
            raise
        for dest in code:
            taken = getattr(args, dest) or []
            if split.error and not taken:  # the unsplittable part was an option's value, not code
                raise UsageError(f"{magic}: {split.error}")
            first = len(argv) - len(taken)  # a REMAINDER argument takes the last words
            setattr(args, dest, line[split.ends[first - 1] if first else 0:].strip() if taken else "")
        variable = getattr(args, "variable", None)
        if variable is not None and not variable.isidentifier():
            raise UsageError(tr("-v needs a Python variable name, not {variable!r}").format(variable=variable))
        return args

    def deliver(self, result, args, *, show: bool | None = None):
        """Store (-v), display (unless -q, or as `show` says) and return (-o) a result."""
        if getattr(args, "variable", None):
            self.shell.user_ns[args.variable] = result
        if show if show is not None else not getattr(args, "quiet", False):
            from IPython.display import display

            display(result)
        return result if getattr(args, "output", False) else None
