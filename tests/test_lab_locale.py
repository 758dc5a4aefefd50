"""The lab extension's words in the catalogue: every trans.__/_n call in labextension/src is extracted
(Babel's javascript extractor reading TypeScript), parts/lab.po translates each one keeping its %N
placeholders, and the compiled colabmagic.json has the shape JupyterLab's Gettext looks up.
tests/test_lab_chinese.py sees the result in a browser.
"""

from __future__ import annotations

import json
import re
import runpy
import tomllib
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "labextension" / "src"
LAB_PO = ROOT / "colabmagic" / "locale" / "zh_CN" / "LC_MESSAGES" / "parts" / "lab.po"
# a call of the plugin's bundle, wherever it is written (`trans.__(`, `this._options.trans.__(`)
CALL = re.compile(r"\btrans\.(?:__|_n)\(")
PLACEHOLDER = re.compile(r"%(\d+)")


@pytest.fixture(scope="module")
def tool():
    return runpy.run_path(str(ROOT / ".ci" / "catalogue.py"))


@pytest.fixture(scope="module")
def lab_messages(tool) -> dict[str, tuple[str, ...]]:
    return {forms[0]: forms for file, forms in tool["occurrences"]() if SOURCES in file.parents}


def lab_po() -> dict[str, tuple[str, ...]]:
    with open(LAB_PO, "rb") as file:
        catalog = read_po(file, locale="zh_CN")
    return {(m.id[0] if isinstance(m.id, tuple) else m.id): (m.id, m.string) for m in catalog if m.id}


def test_every_call_in_the_typescript_sources_is_extracted(tool):
    """Counted per file, so a call the extractor cannot read (one inside a template literal's ${...},
    a generic it takes for a comparison) shows up as a file with fewer messages than calls."""
    extracted = Counter(file.name for file, _forms in tool["occurrences"]() if SOURCES in file.parents)
    written = Counter({path.name: len(CALL.findall(path.read_text(encoding="utf-8")))
                       for path in SOURCES.glob("*.ts") if not path.name.endswith(".test.ts")})
    assert +written == extracted
    assert sum(written.values()) > 40  # the toolbar, the dialogs and the forms plugin all translate


def test_a_call_inside_a_template_literal_is_extracted(tool, lab_messages):
    assert "`▶ ${trans._n('%1 run', '%1 runs', jobs.length)}`" in (SOURCES / "format.ts").read_text(encoding="utf-8")
    assert lab_messages["%1 run"] == ("%1 run", "%1 runs")


def test_lab_po_translates_every_lab_message_and_keeps_its_placeholders(lab_messages):
    translated = lab_po()
    assert sorted(set(lab_messages) - set(translated)) == []
    assert sorted(set(translated) - set(lab_messages)) == [], "lab.po holds messages the lab no longer uses"
    for key, (ids, strings) in translated.items():
        ids = ids if isinstance(ids, tuple) else (ids,)
        strings = strings if isinstance(strings, tuple) else (strings,)
        assert all(strings), key
        wanted = set(PLACEHOLDER.findall(ids[-1]))  # the plural form holds every placeholder
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == wanted, (key, string)
            # option names and units are the same words in Chinese
            for kept in re.findall(r"%[a-z_]+|--[a-z]+|\bNAME\b", ids[0]):
                assert kept in string, (key, kept)
            # written for a Chinese reader, not copied: ideographs or at least Chinese punctuation
            assert re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", string), (key, string)


def test_the_compiled_catalogue_has_the_shape_jupyterlab_looks_up(tool):
    """JupyterLab's Gettext keys a catalogue by its header's language spelt zh-CN, and takes a plural
    entry only when it holds two strings or more: both as the zh-CN language pack's own catalogue."""
    messages = tool["extracted"]()
    _mo, data = tool["compiled"]("zh_CN", messages, tool["translations"]("zh_CN"))
    catalogue = json.loads(data)
    assert catalogue[""] == {"domain": "colabmagic", "language": "zh-CN",
                             "plural_forms": "nplurals=1; plural=0;", "version": "1"}
    assert catalogue["%1 run"] == ["%1 个训练", ""]
    assert catalogue["Start session"] == ["开始会话"]
    for key, strings in catalogue.items():
        if key:
            assert len(strings) == (2 if len(messages[key]) > 1 else 1), key


def test_jupyterlab_finds_the_catalogue_where_the_entry_point_says():
    """jupyterlab_server reads <package>/locale/<lang>/LC_MESSAGES/<entry point name>.json."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (name, module), = project["entry-points"]["jupyterlab.locale"].items()
    path = ROOT / module / "locale" / "zh_CN" / "LC_MESSAGES" / f"{name}.json"
    assert path.is_file()
    assert json.loads(path.read_text(encoding="utf-8"))[""]["domain"] == name
    # the plugins load the same domain
    for plugin in ("index.ts", "forms.ts"):
        assert f".load('{name}')" in (SOURCES / plugin).read_text(encoding="utf-8")
