"""The contract of a `--devices N` run's files (train/ddp/), both directions, for each record: a
reader ignores what a newer minor version added and refuses a newer major version in one line; a
file written before records carried a version is read as version 1's."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import torch

from colabmagic.files import NewerRecord
from colabmagic.processes import ProcessIdentity
from colabmagic.train.callbacks import Callback, Progress, RunInfo
from colabmagic.train.ddp import events, job, outcome, owner


# --- owner.json --------------------------------------------------------------------------------

def test_owner_round_trips_and_a_newer_major_version_is_left_alone(tmp_path):
    folder = tmp_path / (job.PREFIX + "mine")
    folder.mkdir()
    me = owner.current_owner()
    owner.write_owner(folder, me)
    raw = json.loads((folder / "owner.json").read_text())
    assert raw["record_format"] == "colabmagic-ddp-owner" and raw["record_version"] == owner.OWNER_VERSION
    assert owner.read_owner(folder) == me and owner.read_owner(folder).alive()
    (folder / "owner.json").write_text(json.dumps({**raw, "host": "added later"}))
    assert owner.read_owner(folder) == me
    # a newer colabmagic's run: not read, and never removed as stale by this one
    (folder / "owner.json").write_text(json.dumps({**raw, "record_version": owner.OWNER_VERSION + 1, "pid": 1 << 30}))
    with pytest.raises(NewerRecord):
        owner.read_owner(folder)
    assert job.remove_stale(tmp_path) == [] and folder.exists()


def test_an_owner_written_before_records_had_versions_is_still_judged_right(tmp_path):
    """Version 1: {pid, started} with psutil's create_time. A live run an older colabmagic started
    must not be taken for a stale folder (and removed under it)."""
    import psutil

    alive, dead = tmp_path / (job.PREFIX + "alive"), tmp_path / (job.PREFIX + "dead")
    for folder in (alive, dead):
        folder.mkdir()
    me = psutil.Process()
    (alive / "owner.json").write_text(json.dumps({"pid": me.pid, "started": me.create_time()}))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(ended.pid).create_time()
    ended.wait()
    (dead / "owner.json").write_text(json.dumps({"pid": ended.pid, "started": started}))
    assert owner.read_owner(alive).alive() and not owner.read_owner(dead).alive()
    assert job.remove_stale(tmp_path) == [dead] and alive.exists()


# --- job.pt ------------------------------------------------------------------------------------

def _job(**extra):
    dataset = {"name": "d", "kind": "tabular", "x_train": torch.zeros(2, 3), "y_train": torch.zeros(2, dtype=torch.long),
               "x_test": None, "y_test": None, "num_classes": 2}
    return {"config": {}, "dataset": dataset, "owner": {"pid": 1, "start": 2}, **extra}


def test_a_job_says_its_version_and_older_and_newer_jobs_are_told_apart(tmp_path):
    path = tmp_path / "job.pt"
    torch.save(_job(), path)                                        # before jobs had a version: 1
    read = job.read_job(path)
    assert read["dataset"].num_classes == 2 and read["owner"] == ProcessIdentity(1, 2)
    torch.save(_job(record_format=job.JOB_RECORD, record_version=job.JOB_VERSION, later_field=[1]), path)
    assert job.read_job(path)["later_field"] == [1]                 # kept, unread by this version
    future = _job(record_format=job.JOB_RECORD, record_version=job.JOB_VERSION + 1)
    future["dataset"]["added_later"] = 1
    torch.save(future, path)
    with pytest.raises(NewerRecord, match="newer colabmagic") as info:
        job.read_job(path)
    assert "\n" not in str(info.value)
    future["record_version"] = job.JOB_VERSION                      # a minor addition to Dataset: ignored
    torch.save(future, path)
    assert job.read_job(path)["dataset"].name == "d"


# --- result.json and stop.json -----------------------------------------------------------------

def test_outcome_both_directions(tmp_path):
    path = tmp_path / "result.json"
    assert outcome.read_outcome(path) is None                       # the workers wrote none
    outcome.write_diverged({"result": str(path)}, "The loss became nan")
    assert outcome.read_outcome(path) == outcome.Outcome(diverged="The loss became nan")
    # what the code before records wrote
    path.write_text(json.dumps({"interrupted": True, "result": {"epochs_run": 2}, "message": "stopped",
                                "where": "epoch 3", "resume": {"resume": "latest"}}))
    old = outcome.read_outcome(path)
    assert old.interrupted and old.result == {"epochs_run": 2} and old.resume == {"resume": "latest"}
    assert old.diverged is None
    raw = json.loads(path.read_text())
    path.write_text(json.dumps({**raw, "record_format": outcome.OUTCOME_RECORD, "record_version": 1, "new": 1}))
    assert outcome.read_outcome(path) == old
    path.write_text(json.dumps({**raw, "record_format": outcome.OUTCOME_RECORD, "record_version": 2}))
    with pytest.raises(NewerRecord):
        outcome.read_outcome(path)


def test_stop_both_directions(tmp_path):
    path = tmp_path / "stop.json"
    assert outcome.read_stop(path) is None
    outcome.write_stop(path, "the session's time limit was reached")
    assert outcome.read_stop(path) == "the session's time limit was reached"
    path.write_text(json.dumps({"reason": "an older launcher's"}))  # before records
    assert outcome.read_stop(path) == "an older launcher's"
    path.write_text(json.dumps({"record_format": outcome.STOP_RECORD, "record_version": 2, "reason": "x"}))
    with pytest.raises(NewerRecord):
        outcome.read_stop(path)


# --- events.jsonl ------------------------------------------------------------------------------

class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, run):
        self.calls.append(("begin", run))

    def on_progress(self, progress):
        self.calls.append(("progress", progress))

    def on_epoch_end(self, epoch, metrics):
        self.calls.append(("epoch", epoch, metrics))

    def on_checkpoint(self, path):
        self.calls.append(("checkpoint", path))


RUN = RunInfo("r", "mlp", "digits", "cpu", epochs=2, steps_per_epoch=3)
PROGRESS = Progress(0, 1, 3, 1, {"loss": 0.5}, 100.0, 0.1)


def test_events_replay_as_they_are_written_half_lines_kept_for_later(tmp_path):
    path = tmp_path / "events.jsonl"
    log, recorder = events.EventLog(path), Recorder()
    replay = events.EventReplay(path, [recorder])
    log.on_train_begin(RUN)
    log.on_progress(PROGRESS)
    replay.read()
    assert recorder.calls == [("begin", RUN), ("progress", PROGRESS)]
    with open(path, "a") as file:                                    # a line still being written
        file.write('{"hook": "on_epoch_end", "payload": {"epoch": 0, "met')
    replay.read()
    assert len(recorder.calls) == 2
    with open(path, "a") as file:
        file.write('rics": {"loss": 0.4}}}\n')
    log.on_checkpoint("/c.pt")
    log.on_train_end(None)
    replay.read()
    assert recorder.calls[2:] == [("epoch", 0, {"loss": 0.4}), ("checkpoint", "/c.pt")]
    header = json.loads(path.read_text().splitlines()[0])
    assert header.pop("started") <= time.time()  # when the stream began: a follower tells streams apart by it
    assert header == {"record_format": events.EVENTS_RECORD, "record_version": events.EVENTS_VERSION}


def test_events_from_older_and_newer_writers(tmp_path):
    path = tmp_path / "events.jsonl"
    # an older writer: no header; a newer minor one: a hook and a payload field this reader lacks
    lines = [{"hook": "on_progress", "payload": {**PROGRESS.__dict__, "gpu_util": 0.9}},
             {"hook": "on_pause", "payload": 1}, {"hook": "on_checkpoint", "payload": "/c.pt"}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    recorder = Recorder()
    events.EventReplay(path, [recorder]).read()
    assert recorder.calls == [("progress", PROGRESS), ("checkpoint", "/c.pt")]
    path.write_text(json.dumps({"record_format": events.EVENTS_RECORD, "record_version": 2}) + "\n")
    with pytest.raises(NewerRecord, match="newer colabmagic"):
        events.EventReplay(path, [recorder]).read()
