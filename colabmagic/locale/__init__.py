"""Messages in the user's language: gettext over the catalogues in this folder (zh_CN first).

    from ..locale import tr, trn
    raise ConfigError(tr("Unknown training option {name!r}").format(name=name))

The language is COLABMAGIC_LANG (zh_CN, zh, en, ...), else the locale gettext reads (LANGUAGE,
LC_ALL, LC_MESSAGES, LANG); English when no catalogue matches. It is looked up at each call (a
cached catalogue per language), so setting COLABMAGIC_LANG in a running kernel takes effect at the
next message. Numbers, units and option names stay as they are: they are in the format's fields,
not in the text translators see.

The catalogue is one gettext domain, `colabmagic`: the translators' sources are the .po files
under zh_CN/LC_MESSAGES/parts/ (one per area of the package, so that areas change apart); `make
catalogue` extracts the messages (Babel), merges the parts and compiles colabmagic.mo (Python) and
colabmagic.json (JupyterLab's translation API, registered through the `jupyterlab.locale` entry
point). tests/test_locale.py fails when a message has no translation or a compiled file is stale.
"""

from __future__ import annotations

import gettext
import os
from functools import lru_cache
from pathlib import Path

DOMAIN = "colabmagic"
LANG_ENV = "COLABMAGIC_LANG"
FOLDER = Path(__file__).resolve().parent


def tr(message: str) -> str:
    """MESSAGE in the user's language (itself when there is no translation)."""
    return _catalogue(_language()).gettext(message)


def trn(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for N, in the user's language."""
    return _catalogue(_language()).ngettext(singular, plural, n)


def mark(message: str) -> str:
    """Marks a message for the catalogue where it is defined (a module constant) without
    translating it there; tr() translates it where it is shown."""
    return message


def language() -> str:
    """The catalogue's language in use, e.g. "zh_CN"; "en" when messages are English."""
    translations = _catalogue(_language())
    return translations.info().get("language", "en") if isinstance(translations, gettext.GNUTranslations) else "en"


def _language() -> tuple[str, ...]:
    chosen = os.environ.get(LANG_ENV, "").strip()
    if chosen:
        return (chosen,)
    for variable in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable, "").strip()
        if value:
            return tuple(part for part in value.split(":") if part)
    return ()


@lru_cache(maxsize=8)
def _catalogue(languages: tuple[str, ...]) -> gettext.NullTranslations:
    if not languages:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, FOLDER, languages=list(languages), fallback=True)
