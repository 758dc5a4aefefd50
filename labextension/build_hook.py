"""hatch-jupyter-builder's build function for colabmagic: when the JupyterLab extension is built.

- A wheel or sdist (`pip install .`, `python -m build`): whenever colabmagic/labextension is
  missing or older than a source (src/, style/, schema/, package.json, yarn.lock), with the
  committed yarn.lock only (immutable install); an up-to-date build is reused as it is.
- An editable install (`pip install -e .`): only when COLABMAGIC_BUILD_LAB=1. Python-only work
  (`make demo`, the magics) must not need Node.js or wait a minute for npm; `make lab` builds the
  extension explicitly and links it into the environment.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from hatch_jupyter_builder import npm_builder
from hatch_jupyter_builder.utils import is_stale

log = logging.getLogger(__name__)

SOURCES = ("src", "style", "schema", "package.json", "yarn.lock", "tsconfig.json")


def stale(path: str, build_dir: str) -> bool:
    return any(is_stale(build_dir, Path(path) / name) for name in SOURCES)


def build(target_name: str, version: str, path: str = ".", build_dir: str = "", **kwargs) -> None:
    if version == "editable" and os.environ.get("COLABMAGIC_BUILD_LAB") != "1":
        log.info("colabmagic: editable install without the JupyterLab extension "
                 "(run `make lab`, or set COLABMAGIC_BUILD_LAB=1, to build it)")
        return
    if build_dir and not stale(path, build_dir):
        log.info("colabmagic: %s is up to date with %s", build_dir, path)
        return
    # install exactly what yarn.lock says: a build never resolves versions anew
    os.environ.setdefault("YARN_ENABLE_IMMUTABLE_INSTALLS", "true")
    npm_builder(target_name, version, path=path, **kwargs)
