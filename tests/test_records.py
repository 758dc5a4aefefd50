"""The contract of the records two processes share (files.py), both directions, for each record:
a reader ignores what a newer minor version added and refuses a newer major version; a record
written before records carried a version is read as version 1."""

from __future__ import annotations

import dataclasses
import json

import pytest

from colabmagic import files, session
from colabmagic.tensorboard import manager


def test_a_record_says_what_it_is_and_which_version_wrote_it():
    data = json.loads(files.encode_record("colabmagic-x", 3, {"a": 1}))
    assert data == {"record_format": "colabmagic-x", "record_version": 3, "a": 1}
    assert files.decode_record("colabmagic-x", 3, files.encode_record("colabmagic-x", 3, {"a": 1})) == {"a": 1}
    with pytest.raises(ValueError):
        files.encode_record("colabmagic-x", 1, {"limit": float("inf")})  # never non-standard JSON
    with pytest.raises(ValueError, match="cannot be named"):
        files.encode_record("colabmagic-x", 1, {"record_version": 5})


@pytest.mark.parametrize("data, expected", [
    (b'{"a": 1}', {"a": 1}),                                               # before versions: version 1
    (b'{"record_format": "colabmagic-x", "record_version": 1, "a": 1, "new": 2}', {"a": 1, "new": 2}),
    (b'{"record_format": "other", "record_version": 1, "a": 1}', None),   # another kind of record
    (b'[1, 2]', None), (b"not json", None), (None, None), (b'{"a": NaN}', None),
])
def test_what_a_reader_accepts(data, expected):
    assert files.decode_record("colabmagic-x", 1, data) == expected


def test_a_newer_major_version_is_refused_in_one_line():
    with pytest.raises(files.NewerRecord, match=r"version 2, written by a newer colabmagic") as info:
        files.decode_record("colabmagic-x", 1, b'{"record_format": "colabmagic-x", "record_version": 2}')
    assert "\n" not in str(info.value)


@dataclasses.dataclass
class Mount:
    point: str
    pid: int = 0


def test_a_typed_record_round_trips_and_follows_the_rules(tmp_path):
    path = tmp_path / "mount.json"
    files.write_record(path, "colabmagic-x", 2, Mount("/m", 7), mode=0o600)
    assert files.read_record(path, "colabmagic-x", 2, Mount) == Mount("/m", 7)
    assert path.stat().st_mode & 0o777 == 0o600
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "added_later": True}))      # a newer minor version: read
    assert files.read_record(path, "colabmagic-x", 2, Mount) == Mount("/m", 7)
    path.write_text(json.dumps({"record_format": "colabmagic-x", "record_version": 2}))  # a field missing
    assert files.read_record(path, "colabmagic-x", 2, Mount) is None
    assert files.read_record(tmp_path / "none.json", "colabmagic-x", 2, Mount) is None
    path.write_text(json.dumps({**raw, "record_version": 3}))       # a newer major version: refused
    with pytest.raises(files.NewerRecord):
        files.read_record(path, "colabmagic-x", 2, Mount)


# What the flat session.py of before (a kernel's Session, then the server's POSTs) wrote, byte for byte
SESSION_BY_A_KERNEL_BEFORE = b"""{
 "busy": false,
 "changed_by": "kernel",
 "expired": false,
 "extended_seconds": 0.0,
 "kernel_id": "k-old",
 "last_activity": 1500.0,
 "limit_seconds": 7200.0,
 "notice": null,
 "notice_at": null,
 "on_expire": "shutdown",
 "pid": 19072,
 "record_format": "colabmagic-session",
 "record_version": 1,
 "started_at": 1000.0,
 "updated_at": 1500.0
}"""
SESSION_BY_A_SERVER_BEFORE = b"""{
 "changed_by": "server",
 "extended_seconds": 600.0,
 "kernel_id": "k-srv",
 "last_activity": 2000.0,
 "limit_seconds": 3600.0,
 "on_expire": "warn",
 "pid": 4242,
 "record_format": "colabmagic-session",
 "record_version": 1,
 "started_at": 2000.0,
 "updated_at": 2000.0
}"""


def version_1_reader_accepts(values: dict, kernel_id: str) -> bool:
    """What a reader of before checked, field by field (more keys are ignored)."""
    def number(key, optional=False, least=0.0, most=1e11):
        value = values.get(key)
        if value is None:
            return optional
        return not isinstance(value, bool) and isinstance(value, (int, float)) and least <= value <= most

    return (values.get("kernel_id") == kernel_id and number("started_at")
            and number("limit_seconds", optional=True, least=1e-9, most=366 * 86400)
            and number("extended_seconds", optional=True, most=1e10) and number("last_activity", optional=True)
            and values.get("on_expire", "warn") in ("warn", "shutdown")
            and (values.get("pid") is None or (isinstance(values["pid"], int) and not isinstance(values["pid"], bool))))


def test_session_state_both_directions(tmp_path, monkeypatch):
    monkeypatch.setenv(files.STATE_ENV, str(tmp_path))
    # what the code of before wrote is read, by the kernel's clock and by the server alike
    (tmp_path / "colabmagic-session-k-old.json").write_bytes(SESSION_BY_A_KERNEL_BEFORE)
    (tmp_path / "colabmagic-session-k-srv.json").write_bytes(SESSION_BY_A_SERVER_BEFORE)
    assert session.read_state("k-old") == session.SessionState(
        kernel_id="k-old", pid=19072, started_at=1000.0, limit_seconds=7200.0, last_activity=1500.0,
        on_expire="shutdown", updated_at=1500.0, changed_by="kernel")
    assert session.read_state("k-srv") == session.SessionState(
        kernel_id="k-srv", pid=4242, started_at=2000.0, limit_seconds=3600.0, extended_seconds=600.0,
        last_activity=2000.0, updated_at=2000.0, changed_by="server")
    # what this version writes, a reader of before reads: the same kind, version and fields
    state = session.SessionState(kernel_id="k", started_at=100.0, limit_seconds=3600.0, pid=1,
                                 last_activity=100.0, updated_at=100.0, changed_by="server")
    session.write_state(state)
    raw = json.loads((tmp_path / "colabmagic-session-k.json").read_text())
    assert raw["record_format"] == "colabmagic-session" and raw["record_version"] == 1
    assert version_1_reader_accepts(raw, "k") and raw["changed_by"] == "server"
    for before in (SESSION_BY_A_KERNEL_BEFORE, SESSION_BY_A_SERVER_BEFORE):
        assert set(json.loads(before)) <= set(raw)
    assert session.read_state("k") == state
    # a newer minor version added a field: read, the field ignored
    (tmp_path / "colabmagic-session-k.json").write_text(json.dumps({**raw, "colour": "teal"}))
    assert session.read_state("k") == state
    # a newer major version: not read (no session rather than a misread one)
    (tmp_path / "colabmagic-session-k.json").write_text(json.dumps({**raw, "record_version": 2}))
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
