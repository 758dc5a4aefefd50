"""The system tools some tests drive for real: Debian's Chromium (through Playwright) and FUSE 3.

`make test` installs them where it can (.ci/system-packages: root with apt-get). Elsewhere a test
that needs one skips, naming the exact command. Under CI (CI=true) it fails instead: CI installs
them, so a missing one there is a broken set-up, not a reason to skip.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("COLABMAGIC_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def have_chromium() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def have_fuse() -> bool:
    return Path("/dev/fuse").exists() and bool(shutil.which("fusermount3") or shutil.which("fusermount"))


def missing(what: str, package: str) -> None:
    """Skip the calling test (fail it under CI) for a system tool that is not installed."""
    message = f"needs {what}: sudo apt-get install {package} (make test installs it when run as root)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def require_chromium() -> str:
    if not have_chromium():
        missing(f"Chromium at {CHROMIUM}", "chromium")
    return CHROMIUM


def require_fuse() -> None:
    if not have_fuse():
        missing("/dev/fuse and fusermount3", "fuse3")


# a decorator for tests that mount: skipped without FUSE, run (and so fail) under CI
needs_fuse = pytest.mark.skipif(not have_fuse() and not IN_CI,
                                reason="needs /dev/fuse and fusermount3: sudo apt-get install fuse3 "
                                       "(make test installs it when run as root)")
