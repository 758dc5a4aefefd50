"""Messages in the user's language (colabmagic/locale/): the catalogue is complete and compiled, the
language is chosen as documented, and every user-facing message in the package goes through it.

The guard reads the package's source (AST): a string literal or f-string with words in it, passed
as the message of print(), warnings.warn(), a note (tell), a UsageError, a colabmagic error (any
ColabMagicError subclass), an HTTPError, or a widget's description/placeholder/tooltip, must be a
tr()/trn()/mark() call (or .format() of one). A line that is not for users (a debug log, a format
that holds no words) says so with `# untranslated: <why>`.
"""

from __future__ import annotations

import ast
import os
import re
import runpy
from pathlib import Path

import pytest

from colabmagic import locale

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "colabmagic"
MESSAGE_CALLS = {"print", "warn", "tell", "UsageError", "HTTPError", "note"}
WIDGET_KEYWORDS = {"description", "placeholder", "tooltip", "title", "button_style_label"}
WORDS = re.compile(r"[A-Za-z]{3,}")
AREAS = ("train", "train/data", "magics", "widgets", "fetch", "tensorboard", "colab", "server", "drive",
         "session", "machine", "runtime", "top")


def catalogue_tool():
    return runpy.run_path(str(ROOT / ".ci" / "catalogue.py"))


def test_the_catalogue_is_complete_and_compiled():
    problems = catalogue_tool()["problems"]()
    assert problems == [], "\n".join(problems[:40]) + f"\n... {len(problems)} in all (python .ci/catalogue.py --missing F)"


def test_the_language_is_colabmagic_lang_else_the_locale_else_english(monkeypatch):
    for variable in ("COLABMAGIC_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(variable, raising=False)
    assert locale.language() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert locale.language() == "zh_CN"
    monkeypatch.setenv("COLABMAGIC_LANG", "en")
    assert locale.language() == "en"
    monkeypatch.setenv("COLABMAGIC_LANG", "zh")
    assert locale.language() == "zh_CN"
    monkeypatch.setenv("COLABMAGIC_LANG", "fr_FR")
    assert locale.language() == "en"


# --- the guard ---------------------------------------------------------------------------------

def colabmagic_errors(trees) -> set[str]:
    """Names of ColabMagicError and every class in the package that derives from it."""
    names = {"ColabMagicError"}
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        _name(base) in names for base in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _has_words(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _has_words(node.left) or _has_words(node.right)
    return False


def untranslated(path: Path, errors: set[str]) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        candidates = []
        if name in MESSAGE_CALLS or name in errors:
            candidates = list(node.args)
        candidates += [k.value for k in node.keywords if k.arg in WIDGET_KEYWORDS]
        for argument in candidates:
            if _has_words(argument) and "# untranslated" not in lines[argument.lineno - 1]:
                found.append(f"{path.relative_to(ROOT)}:{argument.lineno}: {ast.get_source_segment(source, argument)[:90]}")
    return found


def area_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).parts
    if len(parts) == 1:
        return "top"
    if parts[:2] == ("train", "data"):
        return "train/data"
    return parts[0]


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "locale" not in p.relative_to(PACKAGE).parts)


@pytest.mark.parametrize("area", AREAS)
def test_every_user_facing_message_goes_through_the_catalogue(area):
    files = sources()
    errors = colabmagic_errors([ast.parse(p.read_text(encoding="utf-8")) for p in files])
    found = [line for p in files if area_of(p) == area for line in untranslated(p, errors)]
    assert found == [], f"{len(found)} messages not wrapped in tr():\n" + "\n".join(found)


def test_every_area_is_checked():
    assert {area_of(p) for p in sources()} <= set(AREAS)


def test_a_message_from_a_template_keeps_its_options_as_parts():
    from colabmagic.errors import Message, Option

    message = Message.of("{n:,} rows; lower {lr} (was {value!r}), {{literal}}", n=12000, lr=Option("lr"), value="x")
    assert str(message) == "12,000 rows; lower lr= (was 'x'), {literal}"
    assert message.worded(lambda option: "--" + option.name) == "12,000 rows; lower --lr (was 'x'), {literal}"
    assert message.options == ("lr",)

