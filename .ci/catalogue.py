"""The message catalogue: extract, merge the translators' parts, compile (`make catalogue`).

    python .ci/catalogue.py            # compile colabmagic.mo and colabmagic.json from the parts
    python .ci/catalogue.py --check    # exit 1 when a message has no translation or a file is stale
    python .ci/catalogue.py --missing parts/new.po   # the untranslated messages, as a .po to fill

Messages are what Python passes to locale.tr/trn/mark and the lab extension to trans.__/_n (Babel's
extractors). The translations live in colabmagic/locale/<lang>/LC_MESSAGES/parts/*.po, one file per
area of the package; the first part that translates a message wins. Only extracted messages are
compiled, so a message removed from the code leaves the compiled catalogue too.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = "colabmagic"
LANGUAGES = {"zh_CN": "nplurals=1; plural=0;"}
PYTHON_KEYWORDS = {"tr": None, "trn": (1, 2), "mark": None}
LAB_KEYWORDS = {"__": None, "_n": (1, 2)}
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
SOURCES = [
    (ROOT / "colabmagic", [("**/locale/**", "ignore"), ("**.py", "python")], PYTHON_KEYWORDS, {}),
    # Babel's javascript lexer reads TypeScript's calls too (types are names and operators to it),
    # but a call inside a `${...}` of a template literal only with parse_template_string
    (ROOT / "labextension" / "src", [("**.test.ts", "ignore"), ("**.ts", "javascript")], LAB_KEYWORDS,
     {"**.ts": {"parse_template_string": True}}),
]


def occurrences():
    """(source file, forms) for every call that marks a message, in the package and the lab extension."""
    for folder, methods, keywords, options in SOURCES:
        for file, _line, message, _comments, _context in extract_from_dir(
                folder, methods, options_map=options, keywords=keywords, strip_comment_tags=True):
            yield folder / file, message if isinstance(message, tuple) else (message,)


def extracted() -> dict[str, tuple[str, ...]]:
    """msgid -> its forms (one, or singular and plural), from the package and the lab extension."""
    messages: dict[str, tuple[str, ...]] = {}
    for _file, forms in occurrences():
        if forms[0]:
            messages[forms[0]] = forms
    return messages


def translations(language: str) -> dict[str, tuple[str, ...]]:
    merged: dict[str, tuple[str, ...]] = {}
    for part in sorted(parts_folder(language).glob("*.po")):
        with open(part, "rb") as file:
            for message in read_po(file, locale=language):
                key = message.id[0] if isinstance(message.id, tuple) else message.id
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                if key and all(strings) and key not in merged:
                    merged[key] = strings
    return merged


def parts_folder(language: str) -> Path:
    return ROOT / "colabmagic" / "locale" / language / "LC_MESSAGES" / "parts"


def compiled(language: str, messages, translated) -> tuple[bytes, bytes]:
    catalog = Catalog(locale=language, domain=DOMAIN, project="colabmagic", fuzzy=False,
                      creation_date=FIXED_DATE, revision_date=FIXED_DATE)  # the same bytes from the same parts
    # JupyterLab's Gettext keys a catalogue by its header's language as zh-CN (its own packs spell it
    # so): a zh_CN header would load and never be looked up
    lab = {"": {"domain": DOMAIN, "language": language.replace("_", "-"), "plural_forms": LANGUAGES[language],
                "version": "1"}}
    for key in sorted(messages):
        if key not in translated:
            continue
        forms, strings = messages[key], translated[key]
        catalog.add(forms if len(forms) > 1 else forms[0], strings if len(forms) > 1 else strings[0])
        # Gettext takes a plural entry only with two strings or more, even where the language has
        # one form (Chinese): padded with "" as JupyterLab's language packs are
        lab[key] = list(strings) + [""] * (2 - len(strings)) if len(forms) > 1 else list(strings)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    return mo.getvalue(), (json.dumps(lab, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def targets(language: str) -> tuple[Path, Path]:
    folder = parts_folder(language).parent
    return folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.json"


def problems() -> list[str]:
    """What --check reports: untranslated messages and stale compiled files (empty: all good)."""
    messages, found = extracted(), []
    for language in LANGUAGES:
        translated = translations(language)
        missing = sorted(set(messages) - set(translated))
        found += [f"{language}: no translation for {key!r}" for key in missing]
        for path, data in zip(targets(language), compiled(language, messages, translated)):
            if not path.exists() or path.read_bytes() != data:
                found.append(f"{path.relative_to(ROOT)} is stale: run make catalogue")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--missing", metavar="PO", help="write the untranslated messages (zh_CN) to this .po")
    args = parser.parse_args()
    if args.check:
        found = problems()
        print("\n".join(found) or "catalogue complete and compiled")
        return 1 if found else 0
    messages = extracted()
    for language in LANGUAGES:
        translated = translations(language)
        if args.missing:
            catalog = Catalog(locale=language, domain=DOMAIN)
            for key in sorted(set(messages) - set(translated)):
                forms = messages[key]
                catalog.add(forms if len(forms) > 1 else forms[0], ("", "") if len(forms) > 1 else "")
            with open(args.missing, "wb") as file:
                write_po(file, catalog, omit_header=True, width=0)
        for path, data in zip(targets(language), compiled(language, messages, translated)):
            path.write_bytes(data)
        print(f"{language}: {len(set(messages) & set(translated))} of {len(messages)} messages translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
