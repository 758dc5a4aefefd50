"""The Colab compatibility switch of one IPython shell: `%colab_compat on|off|status`.

On: the content root becomes the working folder, rewrite.py runs last among the shell's cleanup
transforms (after IPython strips prompts and common indentation, before it turns `!` and `%` lines
into Python; user cells only: code colabmagic or a library runs is never rewritten), each kind of
rewrite is announced once, before the cell that first needs it runs, and Colab forms are enabled
(forms.py, where it exists). Off undoes all of it. It turns on by itself at `%load_ext colabmagic`
when `c.ColabCompat.enabled = True` is in the IPython config, or when the kernel's notebook
(`$JPY_SESSION_NAME`, which jupyter_server gives every kernel it starts for a notebook; VS Code's
`__vsc_ipynb_file__`) has Colab's `colab` metadata block.
"""

from __future__ import annotations

import json
import os
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Bool
from traitlets.config import Configurable

from ..locale import tr
from . import content
from .rewrite import rewrite

NOTEBOOK_ENV = "JPY_SESSION_NAME"
NOTEBOOK_LIMIT = 64 << 20   # bytes: a notebook beyond this is not read to find its metadata
_SWITCHES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class ColabCompat(Configurable):
    """IPython config: `c.ColabCompat.enabled = True` turns Colab compatibility on at %load_ext."""

    enabled = Bool(False, config=True, help="Turn %colab_compat on when colabmagic loads.")


@dataclass
class CompatStatus:
    on: bool
    root: Path
    reason: str = ""
    announced: list[str] = field(default_factory=list)   # the rewrite kinds said so far

    def __str__(self) -> str:
        if not self.on:
            return tr("Colab compatibility is off (%colab_compat on turns it on)")
        if self.reason:
            return tr("Colab compatibility is on ({reason}): google.colab is colabmagic.colab, the content "
                      "root is {root}; %colab_compat off turns it off").format(reason=self.reason, root=self.root)
        return tr("Colab compatibility is on: google.colab is colabmagic.colab, the content root is {root}; "
                  "%colab_compat off turns it off").format(root=self.root)

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(str(self))


class Switch:
    """Compat for one shell: what turning it on added, so that turning it off removes exactly that."""

    def __init__(self, shell):
        self.shell = shell
        self.on = False
        self.reason = ""
        self.root = content.root()
        self.before: str | None = None       # the working folder before compat moved into the root
        self.announced: dict[str, str] = {}

    def status(self) -> CompatStatus:
        return CompatStatus(self.on, self.root, self.reason, list(self.announced))

    def turn_on(self, reason: str = "") -> CompatStatus:
        if self.on:
            return self.status()
        self.root = content.ensure_root()
        self.before = os.getcwd()
        os.chdir(self.root)
        self.shell.input_transformers_cleanup.append(self.transform)
        self.shell.events.register("pre_run_cell", self.announce)
        self.on, self.reason = True, reason
        _switch_forms("enable", self.shell)
        return self.status()

    def turn_off(self) -> CompatStatus:
        if not self.on:
            return self.status()
        _switch_forms("disable", self.shell)
        if self.transform in self.shell.input_transformers_cleanup:
            self.shell.input_transformers_cleanup.remove(self.transform)
        self.shell.events.unregister("pre_run_cell", self.announce)
        # back to where the kernel was, unless the user has moved on from the root since
        if self.before and os.getcwd() == str(self.root) and os.path.isdir(self.before):
            os.chdir(self.before)
        self.on, self.reason = False, ""
        return self.status()

    def transform(self, lines: list[str]) -> list[str]:
        cell = "".join(lines)
        new = rewrite(cell, str(self.root)).text
        return lines if new == cell else new.splitlines(keepends=True)

    def announce(self, info) -> None:
        cell = getattr(info, "raw_cell", "") or ""
        notes = rewrite(cell, str(self.root)).notes
        for kind, note in notes.items():
            if kind not in self.announced:
                self.announced[kind] = note
                print(f"colab_compat: {note}")  # untranslated: the magic's name before a translated note


def _switch_forms(action: str, shell) -> None:
    """Colab forms go on and off with compat (forms.py; ipywidgets load when a form cell runs)."""
    from . import forms

    getattr(forms, action)(shell)


def switch_for(shell) -> Switch:
    if shell not in _SWITCHES:
        _SWITCHES[shell] = Switch(shell)
    return _SWITCHES[shell]


def set_compat(shell, action: str) -> CompatStatus:
    """`%colab_compat ACTION`: "on", "off" or "status"."""
    switch = switch_for(shell)
    if action == "on":
        return switch.turn_on(tr("turned on by %colab_compat"))
    if action == "off":
        return switch.turn_off()
    return switch.status()


def turn_on_at_load(shell) -> CompatStatus | None:
    """At %load_ext: on when the config says so or the notebook came from Colab; None otherwise."""
    if ColabCompat(parent=shell).enabled:
        return switch_for(shell).turn_on("c.ColabCompat.enabled")
    notebook = notebook_path(shell)
    if notebook is not None and from_colab(notebook):
        # said first, so that it comes before the first cell's announcements
        _say(shell, tr("colabmagic: Colab compatibility on ({notebook} has Colab metadata); "
                       "%colab_compat off turns it off").format(notebook=notebook.name))
        return switch_for(shell).turn_on(tr("{notebook} came from Colab").format(notebook=notebook.name))
    return None


def _say(shell, line: str) -> None:
    """Print LINE where the user sees it: a kernel that loads us as it starts has no cell yet (its
    output would go to the server's log), so the line waits for the first cell."""
    starting = getattr(shell, "kernel", None) is not None and len(shell.user_ns.get("In", ())) <= 1
    if not starting:
        print(line)
        return

    def first_cell(info) -> None:
        shell.events.unregister("pre_run_cell", first_cell)
        print(line)

    shell.events.register("pre_run_cell", first_cell)


def turn_off_at_unload(shell) -> None:
    if shell in _SWITCHES:
        _SWITCHES[shell].turn_off()


def notebook_path(shell) -> Path | None:
    """The notebook this kernel runs, as its frontend says (None in a terminal or a script)."""
    named = os.environ.get(NOTEBOOK_ENV) or getattr(shell, "user_ns", {}).get("__vsc_ipynb_file__")
    if not named or not str(named).endswith(".ipynb"):
        return None
    path = Path(named).expanduser()
    if not path.is_absolute() and not path.exists():
        path = Path(path.name)  # a path from the server's root: the kernel runs in the notebook's folder
    return path.absolute()


def from_colab(notebook: Path) -> bool:
    """Whether NOTEBOOK's metadata has Colab's `colab` block (what Colab writes into every notebook)."""
    try:
        if notebook.stat().st_size > NOTEBOOK_LIMIT:
            return False
        metadata = json.loads(notebook.read_text(encoding="utf-8")).get("metadata")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(metadata, dict) and isinstance(metadata.get("colab"), dict)
