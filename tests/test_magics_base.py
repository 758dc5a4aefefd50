"""What every magic gets from magics/base.py: shell-like quoting and one line for a bad line.

Through a real InteractiveShell, on the magics a user types: %train, %gpu_info, %%timeit_gpu, and
every other magic colabmagic registers (present and future ones alike parse through ColabMagics.parse).
"""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from colabmagic.magics import _magics_classes

from conftest import run_ok


def usage_error(shell, cell: str) -> str:
    result = shell.run_cell(cell, store_history=False)
    assert type(result.error_in_exec) is UsageError, (cell, result.error_in_exec)
    message = str(result.error_in_exec)
    assert "\n" not in message
    return message


# --- quotes group words and are removed, as in a shell --------------------------------------------

def test_a_quoted_csv_path_with_spaces_trains(shell, workdir):
    folder = workdir / "my data"
    folder.mkdir()
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{i % 2}" for i in range(60))
    (folder / "train set.csv").write_text("a,b,label\n" + rows + "\n")
    result = run_ok(shell, '%train mlp "my data/train set.csv" --target label --epochs 1 -o')
    assert "train set" in str(result.config["dataset"])  # the file was found: quotes gone, spaces kept
    assert len(result.history) == 1


def test_quoted_values_reach_the_magic_without_their_quotes(shell):
    shell.user_ns.pop("quoted", None)
    run_ok(shell, "%%timeit_gpu -n 1 -r 1 -q -v 'quoted'\nx = 1")
    assert "quoted" in shell.user_ns


@pytest.mark.parametrize("line, words", [
    ('mlp "my data/train set.csv" --target label', ["mlp", "my data/train set.csv", "--target", "label"]),
    ("mlp 'a b.csv'", ["mlp", "a b.csv"]),
    (r"mlp my\ data.csv", ["mlp", "my data.csv"]),
    ('--name "it\'s"', ["--name", "it's"]),
    ('--title ""', ["--title", ""]),
    ("  -n   3  ", ["-n", "3"]),
    ("# not a comment", ["#", "not", "a", "comment"]),
])
def test_split_words_splits_like_a_posix_shell(line, words):
    from colabmagic.magics.base import split_words

    assert split_words(line).words == words


# --- an unbalanced quote is one line, in every magic -----------------------------------------------

@pytest.mark.parametrize("cell", [
    '%train mlp "my data/train set.csv --target label',
    "%train mlp 'digits",
    '%gpu_info --watch "1',
    '%%timeit_gpu -n "3\nx = 1',
    "%%timeit_gpu -q -v 'name\nx = 1",
])
def test_an_unbalanced_quote_is_one_usage_error(shell, workdir, cell):
    message = usage_error(shell, cell)
    assert "no closing" in message and "quote" in message
    magic = cell.split()[0]
    assert message.startswith(magic + ": ")
    assert list(workdir.iterdir()) == []  # nothing started, nothing written


def test_a_trailing_backslash_is_one_usage_error(shell):
    message = usage_error(shell, "%gpu_info --json \\")
    assert message.startswith("%gpu_info: ") and "backslash" in message


def every_magic():
    for cls in _magics_classes():
        for kind, names in cls.magics.items():
            for name in names:
                yield ("%" if kind == "line" else "%%") + name


def takes_code(magic: str) -> bool:
    """The magic's line ends in Python code (a code_argument, as %%timeit_gpu's setup)."""
    from IPython.core.interactiveshell import InteractiveShell

    kind = "cell" if magic.startswith("%%") else "line"
    method = InteractiveShell.instance().magics_manager.magics[kind][magic.lstrip("%")]
    return bool(getattr(method, "code_arguments", ()))


@pytest.mark.parametrize("magic", sorted(every_magic()))
def test_every_magic_reports_an_unbalanced_quote_in_one_line(shell, workdir, magic):
    cell = f'{magic} "unclosed' + ("\nx = 1" if magic.startswith("%%") else "")
    if takes_code(magic):  # there the line is Python: Python's own one-line SyntaxError, as in %timeit
        result = shell.run_cell(cell, store_history=False)
        assert isinstance(result.error_in_exec, SyntaxError)
        assert result.error_in_exec.msg.startswith("unterminated string literal")
        cell = f'{magic} -v "unclosed' + ("\nx = 1" if magic.startswith("%%") else "")
    message = usage_error(shell, cell)
    assert message.startswith(f"{magic}: ") and "no closing" in message
    assert list(workdir.iterdir()) == []


# --- code on a %%timeit_gpu line is Python, not shell words ---------------------------------------

def test_setup_code_keeps_its_quotes_and_spaces_exactly(shell):
    run_ok(shell, "seen = []")
    run_ok(shell, "%%timeit_gpu -n 1 -r 1 -q seen.append(\"a  'b'  c\"); seen.append('it\\'s')\nx = 1")
    assert shell.user_ns["seen"] == ["a  'b'  c", "it's"]


def test_setup_code_a_shell_cannot_split_still_runs(shell):
    run_ok(shell, "seen = []")
    # 'it\'s' is fine Python but an unclosed quote to a shell
    run_ok(shell, "%%timeit_gpu -n 1 -r 1 -q seen.append('it\\'s')\nx = 1")
    assert shell.user_ns["seen"] == ["it's"]
