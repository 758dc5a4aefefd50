"""Colab's form annotations read from a cell's source: `#@title`, `#@markdown` and `#@param`
(also written `# @param`, as Colab's own formatter does), every field kind Colab has.

The cell is never parsed as a whole: a Colab cell may hold `!pip` or `%magic` lines that are not
Python. Each annotated line is read on its own, and a line that cannot be read becomes a Problem
(one line for the user) while the rest of the form is still built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..locale import tr
from .form_syntax import AnnotationError, comment_start, read_literals

KINDS = ("string", "number", "integer", "slider", "boolean", "date", "raw", "dropdown")
DISPLAY_MODES = ("both", "form", "code")
_INPUT_OPTIONS = {"type", "placeholder"}
_OPTIONS = {
    "string": _INPUT_OPTIONS, "number": _INPUT_OPTIONS, "integer": _INPUT_OPTIONS, "raw": _INPUT_OPTIONS,
    "date": {"type"}, "boolean": {"type"}, "slider": {"type", "min", "max", "step"},
    "dropdown": {"type", "allow-input"},
}
_DIRECTIVE = re.compile(r"#\s*@(title|markdown|param)\b\s?(.*)$", re.DOTALL)
_TITLE_OPTIONS = re.compile(r"\{[^{}]*\}\s*$")
_ASSIGNMENT = re.compile(r"(?P<name>[^\W\d]\w*)\s*(?::[^=]+)?=(?!=)\s*")


@dataclass(frozen=True)
class Problem:
    line: int   # 0-based, as the cell's lines are indexed
    text: str

    def __str__(self) -> str:
        return tr("line {number}: {problem}").format(number=self.line + 1, problem=self.text)


@dataclass(frozen=True)
class Markdown:
    line: int
    text: str


@dataclass(frozen=True)
class Field:
    """One `name = value  #@param ...` line. `span` is where the value expression sits in the line,
    the part a new value replaces."""

    name: str
    kind: str
    line: int
    span: tuple[int, int]
    source: str
    options: tuple = ()       # a dropdown's choices as Python values (raw: the expressions' text)
    raw: bool = False         # choices and typed text are Python expressions, not strings
    allow_input: bool = False
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    placeholder: str = ""


@dataclass(frozen=True)
class Form:
    title: str = ""
    run_auto: bool = False
    display_mode: str = "both"
    items: tuple = ()          # Field and Markdown, in the cell's order
    problems: tuple = ()

    @property
    def fields(self) -> tuple[Field, ...]:
        return tuple(item for item in self.items if isinstance(item, Field))

    @property
    def shown(self) -> bool:
        """Whether the cell has a form to show: fields or text, or a title whose code is hidden;
        `display-mode: "code"` shows the code alone, as in Colab."""
        return self.display_mode == "form" or bool(self.items) and self.display_mode == "both"


def _title(text: str) -> tuple[str, dict]:
    found = _TITLE_OPTIONS.search(text)
    if not found:
        return text.strip(), {}
    (options,) = read_literals(found.group())
    for key, value in options.items():
        allowed = {"run": ("auto",), "display-mode": DISPLAY_MODES}.get(key)
        if allowed is None:
            raise AnnotationError(tr("unknown title option {key!r} (run, display-mode)").format(key=key))
        if value not in allowed:
            raise AnnotationError(tr("{key} is one of {allowed}, not {value!r}").format(
                key=key, allowed=", ".join(allowed), value=value))
    return text[: found.start()].strip(), options


def _number(options: dict, key: str, default):
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise AnnotationError(tr("slider {key} must be a number, not {value!r}").format(key=key, value=value))
    return value


def _field(name: str, line: int, span: tuple[int, int], source: str, spec: str) -> Field:
    literals = read_literals(spec)
    choices = [x for x in literals if isinstance(x, list)]
    options = {k: v for x in literals if isinstance(x, dict) for k, v in x.items()}
    if [type(x) for x in literals] not in ([], [dict], [list], [list, dict]):
        raise AnnotationError(tr("write at most one [choices] list and one {options} after @param"))
    # a dropdown's choices are values; Colab's {type:""} and a bare @param are raw (Python expressions)
    declared = options.get("type", "string" if choices else "raw") or "raw"
    kind = "dropdown" if choices else declared
    if kind not in KINDS or kind == "dropdown" and declared not in ("string", "raw", "number", "integer"):
        raise AnnotationError(tr("unknown field type {kind!r} ({kinds})").format(
            kind=declared, kinds=", ".join(KINDS[:-1])))
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        raise AnnotationError(tr("option {option!r} does not apply to {kind} fields").format(
            option=unknown[0], kind=kind))
    extra: dict = {}
    if kind == "slider":
        low, high, step = _number(options, "min", 0), _number(options, "max", 100), _number(options, "step", 1)
        if not low < high or step <= 0:
            raise AnnotationError(tr("a slider needs min < max and step > 0 (min {low}, max {high}, step {step})")
                                  .format(low=low, high=high, step=step))
        extra = {"minimum": low, "maximum": high, "step": step}
    if kind == "dropdown":
        if not choices[0]:
            raise AnnotationError(tr("a dropdown needs at least one choice"))
        numbers = [x for x in choices[0] if isinstance(x, (int, float)) and not isinstance(x, bool)]
        if declared in ("number", "integer") and len(numbers) < len(choices[0]):
            raise AnnotationError(tr("a {kind} dropdown's choices are all numbers").format(kind=declared))
        extra = {"options": tuple(choices[0]), "allow_input": options.get("allow-input") is True}
    return Field(name=name, kind=kind, line=line, span=span, source=source, raw=declared == "raw",
                 placeholder=str(options.get("placeholder", "")), **extra)


def _read_line(number: int, line: str, state: dict) -> None:
    hash_at = comment_start(line)
    directive = _DIRECTIVE.match(line, hash_at) if hash_at >= 0 else None
    if not directive:
        return
    what, text = directive.group(1), directive.group(2).rstrip()
    code = line[:hash_at]
    if what in ("title", "markdown") and code.strip():
        raise AnnotationError(tr("#@{directive} must be a line of its own").format(directive=what))
    if what == "title":
        state["title"], options = _title(text)
        state["run_auto"] = options.get("run") == "auto"
        state["display_mode"] = options.get("display-mode", "both")
    elif what == "markdown":
        state["items"].append(Markdown(number, text.strip()))
    else:
        if code[:1].isspace():
            raise AnnotationError(tr("#@param works on the cell's top level, not inside a block"))
        assignment = _ASSIGNMENT.match(code)
        value = code[assignment.end():].rstrip() if assignment else ""
        if not assignment or not value:
            raise AnnotationError(tr("#@param follows an assignment: name = value  #@param ..."))
        span = (assignment.end(), assignment.end() + len(value))
        state["items"].append(_field(assignment.group("name"), number, span, value, text))


def parse_form(source: str) -> Form:
    """The form a cell's SOURCE declares; Form().shown is False for a cell without one."""
    state: dict = {"title": "", "run_auto": False, "display_mode": "both", "items": []}
    problems = []
    for number, line in enumerate(source.split("\n")):
        try:
            _read_line(number, line, state)
        except AnnotationError as err:
            problems.append(Problem(number, str(err)))
    seen: set[str] = set()
    for field in [item for item in state["items"] if isinstance(item, Field)]:
        if field.name in seen:
            problems.append(Problem(field.line, tr("{name} has a field already; this one is left out").format(
                name=field.name)))
            state["items"].remove(field)
        seen.add(field.name)
    return Form(title=state["title"], run_auto=state["run_auto"], display_mode=state["display_mode"],
                items=tuple(state["items"]), problems=tuple(sorted(problems, key=lambda p: p.line)))
