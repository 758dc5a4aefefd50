"""What `%colab_compat` changes in a user's cell before IPython runs it, and nothing else.

`rewrite(cell, root)` returns the new text and one note per kind of change (compat.py announces
each kind once). It works on tokens, so strings, comments and `google.colabx` stay as they are:
- `google.colab` (imports and uses) -> `colabmagic.colab`; `from google import colab` likewise;
- `/content` at the start of a path in a Python string, a `!`/`%` line or a `%%bash` cell -> ROOT
  (only when ROOT is not `/content`);
- `%load_ext tensorboard` -> nothing; `%tensorboard ARGS` -> `%tensorboard_inline ARGS`;
  `%tensorflow_version X` -> nothing; `!kaggle datasets|competitions download ...` -> kaggle_cli.run.
It runs among IPython's cleanup transforms, on the cell as typed (`!` and `%` lines intact); a cell
that does not tokenize keeps its Python lines as they are, for IPython to report.
"""

from __future__ import annotations

import re
import shlex
import tokenize
from dataclasses import dataclass, field

from ..locale import mark, tr
from .content import COLAB_PATH, COLAB_ROOT

SHELL_CELLS = {"bash", "sh", "shell", "script"}         # %%NAME whose body is shell: paths mapped
PYTHON_CELLS = {"time", "timeit", "capture", "prun", "debug", "timeit_gpu"}  # body is Python: rewritten
TENSORBOARD_KEPT = {"--logdir", "--port"}                # the %tensorboard options %tensorboard_inline has
KAGGLE_DOWNLOAD = re.compile(r"kaggle\s+(datasets|competitions)\s+download(\s|$)")
_SHELL_SAFE = re.compile(r"[\w@%+=:,./~-]+\Z")
_STRING_PREFIX = re.compile(r"[A-Za-z]*")

NOTES = {   # kind of change -> what compat says about it (translated when a cell needs it)
    "google.colab": mark("google.colab is colabmagic.colab here (Colab's API on this machine)"),
    "content": mark("/content paths are mapped to {root}"),
    "load_ext tensorboard": mark("%load_ext tensorboard is not needed: %tensorboard runs as %tensorboard_inline"),
    "tensorboard": mark("%tensorboard runs as %tensorboard_inline (TensorBoard framed through Jupyter)"),
    "tensorflow_version": mark("%tensorflow_version does nothing here: the installed TensorFlow is used"),
    "kaggle": mark("!kaggle ... download runs through %kaggle_get's kagglehub path (same files, same folder)"),
}


@dataclass
class Rewritten:
    text: str
    notes: dict[str, str] = field(default_factory=dict)   # kind -> what changed, said once per kernel

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def rewrite(cell: str, root: str) -> Rewritten:
    """CELL as compat runs it; ROOT is the content root (`/content` maps nothing)."""
    from IPython.core.inputtransformer2 import make_tokens_by_line

    lines = cell.splitlines(keepends=True)
    done = _Edits(lines, root)
    first = 0
    if lines and lines[0].startswith("%%"):
        done.shell_line(0)
        name = (lines[0][2:].split() or [""])[0]
        if name in SHELL_CELLS:
            for row in range(1, len(lines)):
                done.shell_line(row)
            return done.result()
        if name not in PYTHON_CELLS:
            return done.result()  # %%writefile, %%html...: their body is data
        first = 1
    try:
        logical_lines = make_tokens_by_line(lines[first:])
    except (SyntaxError, tokenize.TokenError):  # IndentationError is a SyntaxError
        return done.result()
    for tokens in logical_lines:
        start = _first_real(tokens)
        if start is None:
            continue
        row = first + tokens[start].start[0] - 1
        if tokens[start].string.startswith(("!", "%")):
            done.escape_line(row, first + max(t.end[0] for t in tokens) - 1)
        else:
            done.python(tokens, first)
    return done.result()


def _first_real(tokens) -> int | None:
    for i, token in enumerate(tokens):
        if token.type not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.NEWLINE,
                              tokenize.COMMENT, tokenize.ENDMARKER):
            return i
    return None


class _Edits:
    """The cell's lines and the replacements made in them, by (row, column) as tokenize counts."""

    def __init__(self, lines: list[str], root: str):
        self.lines = lines
        self.root = root
        self.maps = root != COLAB_ROOT
        self.edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
        self.notes: dict[str, str] = {}
        self.first = 0  # the row tokenize's row 1 is (1 after a %%time line)

    def record(self, kind: str) -> None:
        """A change of KIND was made: its note, in the user's language."""
        self.notes[kind] = tr(NOTES[kind]).format(root=self.root)

    def result(self) -> Rewritten:
        text = list(self.lines)
        # apply from the end so that earlier positions stay valid
        for (r0, c0), (r1, c1), new in sorted(self.edits, reverse=True):
            joined = "".join(text[r0:r1 + 1])
            offset_end = sum(len(text[r]) for r in range(r0, r1)) + c1
            text[r0:r1 + 1] = [joined[:c0] + new + joined[offset_end:]]
        return Rewritten("".join(text), self.notes)

    def _rc(self, position: tuple[int, int]) -> tuple[int, int]:
        """tokenize's 1-based row (counted from the first Python line) as an index into the cell."""
        return self.first + position[0] - 1, position[1]

    def replace_line(self, row: int, new: str) -> None:
        line = self.lines[row]
        ending = line[len(line.rstrip("\r\n")):]
        self.edits.append(((row, 0), (row, len(line) - len(ending)), new))

    # --- Python ---------------------------------------------------------------------------------

    def python(self, tokens, first: int) -> None:
        self.first = first
        names = [t for t in tokens if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
        for i, token in enumerate(names):
            if token.type == tokenize.NAME and token.string == "google" and self._is_colab(names, i):
                self.edits.append((self._rc(token.start), self._rc(names[i + 2].end), "colabmagic.colab"))
                self.record("google.colab")
            elif token.type == tokenize.STRING and self.maps:
                self._string(token)
        self._from_google_import_colab(names)

    @staticmethod
    def _is_colab(names, i: int) -> bool:
        before = names[i - 1].string if i else ""
        return (before != "." and i + 2 < len(names) and names[i + 1].string == "."
                and names[i + 2].type == tokenize.NAME and names[i + 2].string == "colab")

    def _from_google_import_colab(self, names) -> None:
        """`from google import colab [as x]`: the package is colabmagic's."""
        words = [t.string for t in names if t.type not in (tokenize.NEWLINE, tokenize.ENDMARKER)]
        if words[:4] == ["from", "google", "import", "colab"] and (len(words) == 4 or words[4] == "as"):
            self.edits.append((self._rc(names[1].start), self._rc(names[1].end), "colabmagic"))
            self.record("google.colab")

    def _string(self, token) -> None:
        prefix = _STRING_PREFIX.match(token.string).group().lower()
        body = token.string[len(prefix):]
        quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
        new_root = self.root if "r" in prefix else self.root.replace("\\", "\\\\")
        if quote[0] in new_root or ("b" in prefix and not new_root.isascii()) or "\n" in new_root:
            return  # a root that cannot be written into this literal: leave it
        inner = body[len(quote):-len(quote)]
        mapped = COLAB_PATH.sub(lambda _: new_root, inner)
        if mapped != inner:
            self.edits.append((self._rc(token.start), self._rc(token.end), token.string[:len(prefix)] + quote + mapped + quote))
            self.record("content")

    # --- `!` and `%` lines ----------------------------------------------------------------------

    def escape_line(self, row: int, end_row: int) -> None:
        line = self.lines[row]
        indent = line[:len(line) - len(line.lstrip())]
        text = line.strip()
        if row == end_row and self._special_line(row, indent, text):
            return
        for r in range(row, end_row + 1):
            self.shell_line(r)

    def _special_line(self, row: int, indent: str, text: str) -> bool:
        magic = re.match(r"%(\w+)\s*(.*)\Z", text)
        if magic:
            name, rest = magic.groups()
            if name in ("load_ext", "reload_ext") and rest.split() == ["tensorboard"]:
                self.replace_line(row, f"{indent}pass")
                self.record("load_ext tensorboard")
                return True
            if name == "tensorflow_version":
                self.replace_line(row, f"{indent}pass")
                self.record("tensorflow_version")
                return True
            if name == "tensorboard":
                self.replace_line(row, f"{indent}%tensorboard_inline {self._tensorboard_args(rest)}".rstrip())
                self.record("tensorboard")
                return True
            return False
        command = re.match(r"!(?!!)\s*(.*)\Z", text)
        if command and KAGGLE_DOWNLOAD.match(command.group(1)):
            line = self._mapped_shell(command.group(1))
            self.replace_line(row, f'{indent}__import__("colabmagic.colab.kaggle_cli", fromlist=["run"])'
                                   f".run(get_ipython().var_expand({line!r}))")
            self.record("kaggle")
            return True
        return False

    def _tensorboard_args(self, rest: str) -> str:
        """TensorBoard's flags that %tensorboard_inline has (--logdir, --port); the others are its
        server's tuning (--reload_interval, --bind_all...), which ours sets itself."""
        try:
            words = shlex.split(self._mapped_shell(rest))
        except ValueError:
            return self._mapped_shell(rest)
        kept, i = [], 0
        while i < len(words):
            flag, eq, value = words[i].partition("=")
            if flag in TENSORBOARD_KEPT:
                if not eq and i + 1 < len(words):
                    i += 1
                    value = words[i]
                kept += [flag, value]
            i += 1
        return shlex.join(kept)

    def shell_line(self, row: int) -> None:
        line = self.lines[row]
        new = self._mapped_shell(line)
        if new != line:
            self.edits.append(((row, 0), (row, len(line)), new))
            self.record("content")

    def _mapped_shell(self, text: str) -> str:
        if not self.maps:
            return text
        root = self.root if _SHELL_SAFE.match(self.root) else shlex.quote(self.root)
        return COLAB_PATH.sub(lambda _: root, text)
