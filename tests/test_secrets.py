"""colabmagic.secrets and %secrets: environment first, then a 0600 file; values never shown."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat

import pytest
from IPython.core.error import UsageError

from colabmagic import secrets
from colabmagic.errors import ConfigError
from conftest import run_ok

VALUE = "s3cr3t-VALUE-do-not-print"


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Each test gets its own HOME (the file lives under ~/.config) and no stray credentials."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in secrets.WELL_KNOWN + ("MY_TOKEN", "OTHER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_set_get_delete_round_trip(home):
    assert secrets.get("MY_TOKEN") is None
    file = secrets.set("MY_TOKEN", VALUE)
    assert file == home / ".config" / "colabmagic" / "secrets.json"
    assert secrets.get("MY_TOKEN") == VALUE
    assert json.loads(file.read_text()) == {"secrets": {"MY_TOKEN": VALUE}}
    secrets.set("MY_TOKEN", "second")
    assert secrets.get("MY_TOKEN") == "second"
    assert secrets.delete("MY_TOKEN") is True
    assert secrets.get("MY_TOKEN") is None
    assert secrets.delete("MY_TOKEN") is False


def test_file_and_folder_are_private_and_no_part_file_is_left(home):
    file = secrets.set("MY_TOKEN", VALUE)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in file.parent.iterdir()) == [".secrets.lock", "secrets.json"]


def test_xdg_config_home_is_honoured(home, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "cfg"))
    assert secrets.set("MY_TOKEN", VALUE) == home / "cfg" / "colabmagic" / "secrets.json"


def test_environment_wins_over_the_file(monkeypatch):
    secrets.set("MY_TOKEN", "from-file")
    monkeypatch.setenv("MY_TOKEN", "from-env")
    assert secrets.get("MY_TOKEN") == "from-env"
    assert secrets.source("MY_TOKEN") == "environment"
    assert secrets.shadowed("MY_TOKEN")
    monkeypatch.delenv("MY_TOKEN")
    assert secrets.get("MY_TOKEN") == "from-file"
    assert secrets.source("MY_TOKEN") == str(secrets.path())
    # delete() changes only the file
    monkeypatch.setenv("MY_TOKEN", "from-env")
    assert secrets.delete("MY_TOKEN")
    assert secrets.get("MY_TOKEN") == "from-env"


def test_names_lists_stored_and_well_known_environment_names(monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", VALUE)
    monkeypatch.setenv("SOME_UNRELATED_VARIABLE", "x")
    secrets.set("OTHER", VALUE)
    assert secrets.names() == {"KAGGLE_API_TOKEN": "environment", "OTHER": str(secrets.path())}


def test_readable_file_warns_with_the_chmod_line_and_still_works():
    file = secrets.set("MY_TOKEN", VALUE)
    file.chmod(0o644)
    with pytest.warns(secrets.SecretsWarning, match=f"chmod 600 {file}"):
        assert secrets.get("MY_TOKEN") == VALUE
    with pytest.warns(secrets.SecretsWarning):
        secrets.set("OTHER", "x")  # rewriting fixes the mode
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


def test_bad_names_and_values_are_refused():
    for bad in ("", "1ABC", "A B", "../x", "A-B"):
        with pytest.raises(ConfigError, match="not a secret name"):
            secrets.get(bad)
    with pytest.raises(ConfigError, match="empty"):
        secrets.set("MY_TOKEN", "")
    assert not secrets.path().exists()


def test_corrupt_file_is_reported_without_its_content():
    file = secrets.path()
    file.parent.mkdir(parents=True)
    file.write_text('{"secrets": {"MY_TOKEN": "' + VALUE)  # torn JSON
    file.chmod(0o600)
    with pytest.raises(ConfigError) as info:
        secrets.get("MY_TOKEN")
    assert str(file) in str(info.value) and VALUE not in str(info.value)


def test_a_failed_write_leaves_the_old_file():
    secrets.set("MY_TOKEN", "old")

    def fail(fd):  # the disk fills up as the new file is flushed
        raise OSError(28, "No space left on device")

    import colabmagic.files as files_module

    with pytest.MonkeyPatch.context() as patch, pytest.raises(OSError):
        patch.setattr(files_module.os, "fsync", fail)
        secrets.set("MY_TOKEN", "new")
    assert json.loads(secrets.path().read_text()) == {"secrets": {"MY_TOKEN": "old"}}
    assert not secrets.path().with_name("secrets.json.part").exists()


def _store(home, name):
    os.environ["HOME"] = home
    for i in range(20):
        secrets.set(f"{name}_{i}", "v")


def test_two_processes_saving_at_once_lose_nothing(home):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_store, args=(str(home), n)) for n in ("A", "B")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert len(secrets.names()) == 40


# --- %secrets ---------------------------------------------------------------------------------

def test_magic_lists_names_and_sources_never_values(shell, capsys, monkeypatch):
    run_ok(shell, "%secrets")
    assert "No secrets yet" in capsys.readouterr().out
    secrets.set("MY_TOKEN", VALUE)
    monkeypatch.setenv("KAGGLE_KEY", VALUE)
    monkeypatch.setenv("MY_TOKEN", VALUE)
    run_ok(shell, "%secrets")
    out = capsys.readouterr().out
    assert "KAGGLE_KEY" in out and "MY_TOKEN" in out and "environment" in out and "overrides" in out
    assert VALUE not in out
    listing = run_ok(shell, "%secrets list -o")
    assert VALUE not in repr(listing) + str(listing) + listing._repr_html_()
    assert listing.sources["MY_TOKEN"] == "environment"


def test_magic_set_asks_with_a_hidden_prompt_and_delete_removes(shell, capsys, monkeypatch):
    prompts = []

    def getpass(prompt):  # no terminal in a test: answer the hidden prompt here
        prompts.append(prompt)
        return VALUE

    monkeypatch.setattr("getpass.getpass", getpass)
    run_ok(shell, "%secrets set MY_TOKEN")
    assert prompts == ["Value for MY_TOKEN (hidden): "]
    assert secrets.get("MY_TOKEN") == VALUE
    out = capsys.readouterr().out
    assert "Stored MY_TOKEN" in out and VALUE not in out
    run_ok(shell, "%secrets delete MY_TOKEN")
    assert "Deleted MY_TOKEN" in capsys.readouterr().out
    assert secrets.get("MY_TOKEN") is None


@pytest.mark.parametrize("line, message", [
    ("%secrets set", "needs a NAME"),
    ("%secrets delete", "needs a NAME"),
    ("%secrets set 9bad", "not a secret name"),
])
def test_magic_bad_input_is_one_usage_error(shell, line, message, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: pytest.fail("asked for a value"))
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert message in str(result.error_in_exec)


def test_magic_empty_answer_stores_nothing(shell, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: "")
    result = shell.run_cell("%secrets set MY_TOKEN", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert not secrets.path().exists()


def test_a_looser_folder_made_earlier_is_made_private_and_a_planted_part_is_ignored(home):
    """~/.config/colabmagic made 0755 earlier (by hand, an older version) is 0700 after the next write;
    a symlink planted at secrets.json.part to another file neither receives the secrets nor is
    emptied."""
    folder = home / ".config" / "colabmagic"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    victim = home / "notes.txt"
    victim.write_text("mine")
    (folder / "secrets.json.part").symlink_to(victim)
    secrets.set("MY_TOKEN", "s3cret-value")
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct(secrets.path().stat().st_mode & 0o777) == "0o600" and not secrets.path().is_symlink()
    assert victim.read_text() == "mine"
    assert secrets.get("MY_TOKEN") == "s3cret-value"


def test_a_value_typed_in_the_line_is_never_repeated(shell):
    result = shell.run_cell("%secrets set HF_TOKEN hf_typed_by_mistake", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "hf_typed_by_mistake" not in str(result.error_in_exec) and "hidden prompt" in str(result.error_in_exec)
    assert not secrets.path().exists()


def test_a_frontend_without_input_gets_one_line(home, tmp_path):
    """nbclient, papermill and some editors run kernels with allow_stdin=False: getpass raised
    StdinNotImplementedError with a traceback. A real kernel, asked as they ask."""
    import os

    from jupyter_client import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, "HOME": str(home)}, cwd=str(tmp_path))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("%load_ext colabmagic\n%secrets set MY_TOKEN", allow_stdin=False,
                                           timeout=60, output_hook=lambda msg: None)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] == "UsageError", content
    assert "cannot ask for input" in content["evalue"] and "MY_TOKEN" in content["evalue"]
    assert not secrets.path().exists()
