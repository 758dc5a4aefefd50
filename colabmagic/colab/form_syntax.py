"""The small language inside Colab's form comments: where a line's comment starts, and the
JavaScript-like literals after `@param` and `@title` (`["a", "b"]`, `{type:"slider", min:0}`).

Colab writes object keys unquoted and with hyphens (`allow-input`, `display-mode`) and uses
`true`/`false`, so neither `json` nor `ast.literal_eval` reads them; this reader accepts exactly
strings, numbers, booleans, null and flat lists/objects of them, and says where it stopped.
"""

from __future__ import annotations

import re

from ..errors import ColabMagicError
from ..locale import tr


class AnnotationError(ColabMagicError):
    """A form annotation that cannot be read; the cell still runs, without that field."""


_WORDS = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<word>[A-Za-z_][\w-]*)
    | (?P<punct>[\[\]{}:,])
    )""", re.VERBOSE)


def comment_start(line: str) -> int:
    """Index of the `#` that starts LINE's comment, or -1: a `#` inside a string literal is not one."""
    quote = ""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\":
                i += 1
            elif line.startswith(quote, i):
                i += len(quote) - 1
                quote = ""
        elif char in "'\"":
            quote = char * 3 if line.startswith(char * 3, i) else char
            i += len(quote) - 1
        elif char == "#":
            return i
        i += 1
    return -1


def _string(token: str) -> str:
    body = token[1:-1]
    # the escapes Python and JavaScript share; anything else is kept as written
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


class _Reader:
    def __init__(self, text: str):
        self.text, self.pos = text, 0

    def token(self) -> tuple[str, str]:
        match = _TOKEN.match(self.text, self.pos)
        if not match:
            rest = self.text[self.pos:].strip()
            if not rest:
                raise AnnotationError(tr("it ends too early"))
            raise AnnotationError(tr("cannot read {text!r}").format(text=rest[:30]))
        self.pos = match.end()
        kind = match.lastgroup
        return kind, match.group(kind)

    def peek(self) -> str:
        match = _TOKEN.match(self.text, self.pos)
        return match.group(match.lastgroup) if match else ""

    def value(self):
        kind, token = self.token()
        if kind == "string":
            return _string(token)
        if kind == "number":
            number = float(token)
            return int(number) if re.fullmatch(r"[-+]?\d+", token) else number
        if kind == "word" and token in _WORDS:
            return _WORDS[token]
        if token == "[":
            return self.items("]", self.value)
        if token == "{":
            return dict(self.items("}", self.entry))
        raise AnnotationError(tr("unexpected {token!r}").format(token=token))

    def entry(self) -> tuple[str, object]:
        kind, key = self.token()
        if kind not in ("word", "string"):
            raise AnnotationError(tr("expected a key, found {key!r}").format(key=key))
        if self.token()[1] != ":":
            raise AnnotationError(tr("expected ':' after {key!r}").format(key=key))
        return (_string(key) if kind == "string" else key), self.value()

    def items(self, close: str, read) -> list:
        found = []
        while self.peek() != close:
            found.append(read())
            if self.peek() == ",":
                self.token()
            elif self.peek() != close:
                if not self.peek():
                    raise AnnotationError(tr("expected ',' or {close!r}, found the end").format(close=close))
                raise AnnotationError(tr("expected ',' or {close!r}, found {token!r}").format(
                    close=close, token=self.peek()))
        self.token()
        return found


def read_literals(text: str) -> list:
    """Every literal in TEXT, in order: `["a", 1] {allow-input: true}` gives [["a", 1], {...}]."""
    reader = _Reader(text)
    found = []
    while reader.text[reader.pos:].strip():
        if reader.peek() not in ("[", "{"):
            raise AnnotationError(tr("expected a [list] or {{options}}, found {text!r}").format(
                text=reader.text[reader.pos:].strip()[:30]))
        found.append(reader.value())
    return found
