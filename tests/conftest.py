"""Fixtures shared by the test suite: a real IPython shell with colabmagic loaded."""

from __future__ import annotations

import pytest


@pytest.fixture
def shell():
    """A real InteractiveShell with `%load_ext colabmagic` run in it.

    IPython keeps one shell per process; tests share it and get the extension loaded afresh.
    """
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext colabmagic", store_history=False)
    yield shell
    shell.run_cell("%unload_ext colabmagic", store_history=False)


@pytest.fixture
def published(shell, monkeypatch):
    """Every display_data the shell publishes: (data, display_id, update)."""
    seen = []

    def publish(data, metadata=None, *args, transient=None, update=False, **kwargs):
        seen.append((data, (transient or {}).get("display_id"), update))

    monkeypatch.setattr(shell.display_pub, "publish", publish)
    return seen


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty current folder: runs/ and anything else a test writes lands there, not in the checkout."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_ok(shell, cell: str):
    """Run a cell and fail the test with the cell's own error if it raised."""
    result = shell.run_cell(cell, store_history=False)
    if not result.success:
        raise AssertionError(f"cell failed: {cell!r}: {result.error_before_exec or result.error_in_exec!r}")
    return result.result
