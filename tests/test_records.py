"""The contract of the records two processes share (records.py), both directions, for each record:
a reader ignores what a newer minor version added and refuses a newer major version; a record
written before records carried a version is read as version 1."""

from __future__ import annotations

import json

import pytest

from colabmagic import records, session
from colabmagic.tensorboard import manager


def test_a_record_says_what_it_is_and_which_version_wrote_it():
    data = json.loads(records.encode("colabmagic-x", 3, {"a": 1}))
    assert data == {"record_format": "colabmagic-x", "record_version": 3, "a": 1}
    assert records.decode("colabmagic-x", 3, records.encode("colabmagic-x", 3, {"a": 1})) == {"a": 1}
    with pytest.raises(ValueError):
        records.encode("colabmagic-x", 1, {"limit": float("inf")})  # never non-standard JSON
    with pytest.raises(ValueError, match="cannot be named"):
        records.encode("colabmagic-x", 1, {"record_version": 5})


@pytest.mark.parametrize("data, expected", [
    (b'{"a": 1}', {"a": 1}),                                               # before versions: version 1
    (b'{"record_format": "colabmagic-x", "record_version": 1, "a": 1, "new": 2}', {"a": 1, "new": 2}),
    (b'{"record_format": "other", "record_version": 1, "a": 1}', None),   # another kind of record
    (b'[1, 2]', None), (b"not json", None), (None, None), (b'{"a": NaN}', None),
])
def test_what_a_reader_accepts(data, expected):
    assert records.decode("colabmagic-x", 1, data) == expected


def test_a_newer_major_version_is_refused_in_one_line():
    with pytest.raises(records.NewerRecord, match=r"version 2, written by a newer colabmagic") as info:
        records.decode("colabmagic-x", 1, b'{"record_format": "colabmagic-x", "record_version": 2}')
    assert "\n" not in str(info.value)


def test_session_state_both_directions(tmp_path, monkeypatch):
    monkeypatch.setenv(session.STATE_ENV, str(tmp_path))
    state = {"kernel_id": "k", "started_at": 100.0, "limit_seconds": 3600.0, "extended_seconds": 0.0,
             "on_expire": "warn", "pid": 1}
    session.write_state(state)
    raw = json.loads((tmp_path / "colabmagic-session-k.json").read_text())
    assert raw["record_format"] == "colabmagic-session" and raw["record_version"] == session.STATE_VERSION
    assert session.read_state("k") == state
    # a newer minor version added a field: read, the field ignored by the rules
    (tmp_path / "colabmagic-session-k.json").write_text(json.dumps({**raw, "colour": "teal"}))
    assert session.read_state("k")["limit_seconds"] == 3600.0
    # a newer major version: not read (no session rather than a misread one)
    (tmp_path / "colabmagic-session-k.json").write_text(json.dumps({**raw, "record_version": session.STATE_VERSION + 1}))
    assert session.read_state("k") is None


def test_tensorboard_registry_both_directions(tmp_path, monkeypatch):
    """An older kernel lists (and so can stop) what a newer one started: the entry's extra keys are
    ignored instead of making Instance(**json) fail."""
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(tmp_path))
    instance = manager.Instance(port=6006, pid=2**22 + 7, logdir="/runs", started_at=1.0, create_time=1.0,
                                owner_pid=None, version="2.20", log="", prefix="/" + "a" * 32)
    manager._remember(instance)
    entry = manager.registry_dir() / "port-6006.json"
    raw = json.loads(entry.read_text())
    assert raw["record_format"] == "colabmagic-tensorboard" and raw["record_version"] == manager.REGISTRY_VERSION
    assert manager._registered() == [instance]
    entry.write_text(json.dumps({**raw, "added_later": True}))
    assert manager._registered() == [instance]
    entry.write_text(json.dumps({**raw, "record_version": manager.REGISTRY_VERSION + 1}))
    assert manager._registered() == []
