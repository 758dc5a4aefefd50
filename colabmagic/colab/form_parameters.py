"""A Colab form cell as papermill's parameters cell, so a notebook from Colab runs headless with
other values: `papermill in.ipynb out.ipynb -p lr 0.01`.

papermill injects its `-p` values in a new cell right after the first cell tagged `parameters`,
so the form's defaults run first and the injected values win. `tag_parameters` tags the first
code cell whose form has fields (the one Colab notebooks put their hyperparameters in); a notebook
that already has a `parameters` cell keeps it. JupyterLab's extension tags the same cell when the
form first runs there; for a notebook straight from Colab:

    python -m colabmagic.colab.form_parameters in.ipynb [-o tagged.ipynb]

Fields of later form cells run after papermill's cell and so keep their own values: the result
names them, and the command prints them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ColabMagicError, shown
from ..files import write_atomically
from ..locale import tr
from .form_annotations import parse_form

TAG = "parameters"


@dataclass
class Tagging:
    cell: int | None                 # the index of the parameters cell (None: the notebook has no form)
    names: list[str] = field(default_factory=list)
    already: bool = False            # the notebook had a parameters cell: nothing was changed
    later: list[str] = field(default_factory=list)   # fields papermill cannot set (later form cells)

    def __str__(self) -> str:
        if self.cell is None:
            return tr("no form cell with #@param fields: nothing to tag")
        if self.already:
            said = tr("cell {number} is papermill's parameters cell already").format(number=self.cell + 1)
        else:
            said = tr("tagged cell {number} ({names}) as papermill's parameters cell").format(
                number=self.cell + 1, names=", ".join(self.names))
        if self.later:
            said += tr("; set in later form cells, so papermill -p cannot change: {names}").format(
                names=", ".join(self.later))
        return said


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _form_fields(cell: dict) -> list[str]:
    if cell.get("cell_type") != "code" or "@param" not in _source(cell):
        return []
    return [f.name for f in parse_form(_source(cell)).fields]


def tag_parameters(notebook: dict) -> Tagging:
    """Tag NOTEBOOK's first form cell `parameters` (in place) unless a cell has that tag already."""
    cells = notebook.get("cells", [])
    tagged = [i for i, cell in enumerate(cells) if TAG in cell.get("metadata", {}).get("tags", [])]
    forms = [(i, names) for i, cell in enumerate(cells) if (names := _form_fields(cell))]
    if tagged:
        later = [n for i, names in forms if i > tagged[0] for n in names]
        return Tagging(tagged[0], _form_fields(cells[tagged[0]]), already=True, later=later)
    if not forms:
        return Tagging(None)
    (first, names), rest = forms[0], forms[1:]
    cells[first].setdefault("metadata", {}).setdefault("tags", []).append(TAG)
    return Tagging(first, names, later=[n for _, more in rest for n in more])


def tag_file(path: Path, out: Path | None = None) -> Tagging:
    """Tag the notebook at PATH; write it (whole) to OUT, or back to PATH when there is a change."""
    try:
        notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ColabMagicError(tr("cannot read the notebook {path}: {reason}").format(
            path=shown(path), reason=err)) from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ColabMagicError(tr("{path} is not a notebook (no cells)").format(path=shown(path)))
    tagging = tag_parameters(notebook)
    if out is not None or (tagging.cell is not None and not tagging.already):
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"  # nbformat's own layout
        write_atomically(Path(out or path), lambda file: file.write(text.encode("utf-8")))
    return tagging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m colabmagic.colab.form_parameters",
        description="Tag a Colab notebook's form cell as papermill's parameters cell.")  # untranslated: argparse help
    parser.add_argument("notebook", type=Path)
    parser.add_argument("-o", "--output", type=Path, help="write the tagged notebook here (default: in place)")
    args = parser.parse_args(argv)
    try:
        print(tag_file(args.notebook, args.output))
    except ColabMagicError as err:
        print(tr("error: {message}").format(message=err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
