"""%colab_compat in a real InteractiveShell, and the google.colab functions that need no kernel."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from IPython.core.error import UsageError

from colabmagic import secrets
from colabmagic.colab import compat, content, download_offer, files, output, userdata
from colabmagic.colab.failure import ColabAPIError
from conftest import run_ok


@pytest.fixture
def root(tmp_path, monkeypatch):
    """The content root under tmp_path; the shell's working folder and compat restored after."""
    monkeypatch.setenv("COLABMAGIC_CONTENT", str(tmp_path / "content"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "content"


@pytest.fixture
def compat_shell(shell, root):
    yield shell
    shell.run_cell("%colab_compat off", store_history=False)


def test_on_status_off(compat_shell, root, tmp_path, capsys):
    shell = compat_shell
    assert not run_ok(shell, "%colab_compat -o").on
    on = run_ok(shell, "%colab_compat on -o")
    assert on.on and on.root == root and Path.cwd() == root    # the root is made and is the working folder
    assert "google.colab is colabmagic.colab" in str(on) and "%colab_compat off" in str(on)
    run_ok(shell, "import sys\nfrom google.colab import userdata\nloaded = 'google.colab' in sys.modules")
    assert shell.user_ns["userdata"] is userdata and shell.user_ns["loaded"] is False
    run_ok(shell, "with open('/content/a.txt', 'w') as f: f.write('x')")
    assert (root / "a.txt").read_text() == "x"
    printed = capsys.readouterr().out
    assert printed.count("colab_compat: google.colab is colabmagic.colab here") == 1
    run_ok(shell, "from google.colab import files")
    assert "colab_compat:" not in capsys.readouterr().out           # each kind is announced once
    off = run_ok(shell, "%colab_compat off -o")
    assert not off.on and Path.cwd() == tmp_path                     # back where it was
    result = shell.run_cell("import google.colab", store_history=False)
    assert isinstance(result.error_in_exec, ModuleNotFoundError)    # nothing is rewritten any more
    assert "google.colab" not in sys.modules


def test_a_bad_action_is_one_usage_error(compat_shell):
    result = compat_shell.run_cell("%colab_compat sideways", store_history=False)
    assert isinstance(result.error_in_exec, UsageError) and "sideways" in str(result.error_in_exec)


def test_the_config_switch_turns_it_on_at_load(shell, root, capsys):
    shell.run_cell("%unload_ext colabmagic", store_history=False)
    shell.config.ColabCompat.enabled = True
    try:
        run_ok(shell, "%load_ext colabmagic")
        assert compat.switch_for(shell).on and compat.switch_for(shell).reason == "c.ColabCompat.enabled"
    finally:
        del shell.config["ColabCompat"]
        shell.run_cell("%colab_compat off", store_history=False)


def test_a_notebook_from_colab_turns_it_on_at_load(shell, root, tmp_path, monkeypatch, capsys):
    notebook = tmp_path / "from_colab.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {"colab": {"provenance": []}}, "nbformat": 4,
                                    "nbformat_minor": 5}))
    plain = tmp_path / "plain.ipynb"
    plain.write_text(json.dumps({"cells": [], "metadata": {"kernelspec": {}}, "nbformat": 4, "nbformat_minor": 5}))
    assert compat.from_colab(notebook) and not compat.from_colab(plain)
    assert not compat.from_colab(tmp_path / "missing.ipynb")
    shell.run_cell("%unload_ext colabmagic", store_history=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(plain))
    run_ok(shell, "%load_ext colabmagic")
    assert not compat.switch_for(shell).on
    shell.run_cell("%unload_ext colabmagic", store_history=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    try:
        run_ok(shell, "%load_ext colabmagic")
        assert compat.switch_for(shell).on
        assert "Colab compatibility on (from_colab.ipynb has Colab metadata); %colab_compat off turns it off" \
            in capsys.readouterr().out
    finally:
        shell.run_cell("%colab_compat off", store_history=False)


def test_forms_are_switched_with_compat(compat_shell):
    """Colab forms go on with compat and off with it (colab/forms.py)."""
    from colabmagic.colab import forms

    run_ok(compat_shell, "%colab_compat on")
    assert forms.enabled(compat_shell)
    run_ok(compat_shell, "%colab_compat off")
    assert not forms.enabled(compat_shell)


# --- the content root -----------------------------------------------------------------------------

def test_the_content_root_is_never_content_made_by_us(monkeypatch, tmp_path):
    monkeypatch.delenv("COLABMAGIC_CONTENT", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = Path("/content") if os.access("/content", os.W_OK) and os.path.isdir("/content") else tmp_path / "content"
    assert content.root() == expected
    monkeypatch.setenv("COLABMAGIC_CONTENT", str(tmp_path / "c"))
    assert content.mapped("/content/drive/MyDrive/x") == f"{tmp_path}/c/drive/MyDrive/x"
    assert content.mapped("/contents/x") == "/contents/x" and content.mapped("data/x") == "data/x"


# --- userdata, files, output ----------------------------------------------------------------------

def test_userdata_reads_the_environment_then_the_store(root, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(userdata.SecretNotFoundError, match="Secret HF_TOKEN does not exist"):
        userdata.get("HF_TOKEN")
    secrets.set("HF_TOKEN", "from-the-store")
    assert userdata.get("HF_TOKEN") == "from-the-store"
    monkeypatch.setenv("HF_TOKEN", "from-the-environment")
    assert userdata.get("HF_TOKEN") == "from-the-environment"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_userdata_unreadable_store_is_colabs_access_error(root, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    secrets.set("HF_TOKEN", "x")
    secrets.path().chmod(0)
    with pytest.raises(userdata.NotebookAccessError):
        userdata.get("HF_TOKEN")


def test_errors_show_as_one_line(root):
    err = userdata.SecretNotFoundError("X")
    assert err._render_traceback_() == ["SecretNotFoundError: Secret X does not exist. Set it with %secrets set X, "
                                        "or as an environment variable of the same name"]


def test_upload_without_a_browser_or_files_says_so(root, monkeypatch):
    monkeypatch.delenv("COLABMAGIC_UPLOAD", raising=False)
    with pytest.raises(ColabAPIError, match=r"no browser .* \$COLABMAGIC_UPLOAD"):
        files.upload()
    monkeypatch.setenv("COLABMAGIC_UPLOAD", str(root / "nope.csv"))
    with pytest.raises(ColabAPIError, match="nope.csv .* is not a file"):
        files.upload()


def test_upload_into_a_target_folder_and_download_copies_side_by_side(root, tmp_path, monkeypatch, capsys):
    source = tmp_path / "a.txt"
    source.write_text("data")
    monkeypatch.setenv("COLABMAGIC_UPLOAD", str(source))
    assert files.upload("in") == {"a.txt": b"data"}
    assert (tmp_path / "in" / "a.txt").read_text() == "data"
    monkeypatch.setenv("COLABMAGIC_DOWNLOAD_DIR", str(tmp_path / "dl"))
    files.download(str(source))
    files.download(str(source))
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["a (1).txt", "a.txt"]
    with pytest.raises(FileNotFoundError, match="Cannot find file: missing.txt"):
        files.download("missing.txt")


def test_the_download_offer_names_only_what_was_offered(root, tmp_path):
    file = tmp_path / "report.csv"
    file.write_text("a,b\n")
    token = download_offer.offer(file, now=1000.0)
    offer = download_offer.claim(token, now=1001.0)
    assert offer.path == str(file) and offer.name == "report.csv"
    assert (download_offer.folder() / f"{token}.json").stat().st_mode & 0o777 == 0o600
    assert download_offer.claim(token, now=1000.0 + download_offer.OFFER_SECONDS + 1) is None  # expired
    assert download_offer.claim("../../etc/passwd") is None and download_offer.claim("") is None
    file.unlink()
    assert download_offer.claim(token, now=1001.0) is None                                      # file gone
    bundle = files.offer_bundle("/base/", token, "report.csv")
    assert f"/base/colabmagic/api/download/{token}" in bundle["text/html"]
    assert "a.click()" in bundle["application/javascript"]


def test_eval_js_fails_at_once_unless_no_result_is_wanted():
    with pytest.raises(ColabAPIError, match="ignore_result=True"):
        output.eval_js("1 + 1")
    assert output.eval_js("console.log(1)", ignore_result=True) is None


def test_a_port_must_be_a_port():
    with pytest.raises(ColabAPIError, match="TCP port"):
        output.serve_kernel_port_as_iframe(70000)


def test_data_table_shows_the_frame_as_pandas_does():
    pd = pytest.importorskip("pandas")
    from colabmagic.colab import data_table

    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    data_table.enable_dataframe_formatter()
    table = data_table.DataTable(frame, include_index=False, num_rows_per_page=10)
    assert table._repr_html_() == frame.to_html(index=False) and repr(table) == frame.to_string(index=False)


def test_the_package_has_colabs_modules_and_no_google_colab_appears():
    import colabmagic.colab as colab

    for name in colab.MODULES:
        assert getattr(colab, name).__name__ == f"colabmagic.colab.{name}"
    with pytest.raises(AttributeError):
        colab.not_a_module
    assert "google.colab" not in sys.modules
