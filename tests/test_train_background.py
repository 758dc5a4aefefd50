"""%train --background: runs that outlive their kernel, listed, followed, stopped from any kernel.

Every run here is a real process of its own session training the embedded digits on the CPU;
`jobs_here` gives each test its own state folder and leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from IPython.core.error import UsageError

from colabmagic.processes import process_start
from colabmagic.train.background import find, jobs
from colabmagic.train.background.records import DEAD, FINISHED, RUNNING, STARTING, STOPPED, job_folders
from colabmagic.train.callbacks import Callback
from colabmagic.train.checkpoint import checkpoint_files
from conftest import run_ok

pytestmark = pytest.mark.slow


@pytest.fixture
def jobs_here(workdir, monkeypatch):
    """This test's own job registry; every background process it started is gone at the end."""
    monkeypatch.setenv("COLABMAGIC_STATE_DIR", str(workdir / "state"))
    yield workdir
    left = []
    for folder in job_folders():
        job = folder.job()
        if job is not None and job.identity.alive():
            left.append(job.pid)
            os.kill(job.pid, signal.SIGKILL)
    assert not left, f"background runs still running after the test: {left}"


def wait_for(condition, seconds=120.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class Epochs(Callback):
    def __init__(self, then=None):
        self.seen, self.then = [], then

    def on_epoch_end(self, epoch, metrics):
        self.seen.append(epoch)
        if self.then:
            self.then(epoch)


KERNEL_START = textwrap.dedent("""
    import os, sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext colabmagic")
    result = shell.run_cell(sys.argv[1])
    print("started", flush=True)
    result.raise_error()
    import time; time.sleep(600)  # a kernel that stays until it is killed
""")


def test_a_background_run_survives_its_kernel_being_killed_and_matches_a_foreground_run(jobs_here):
    from colabmagic.train import train

    line = "%train mlp digits --epochs 4 --threads 1 --seed 3 --background --quiet"
    kernel = subprocess.Popen([sys.executable, "-c", KERNEL_START, line], stdout=subprocess.PIPE, text=True,
                              env={**os.environ})
    try:
        said = kernel.stdout.readline()
        assert said.startswith("mlp-digits trains in the background (pid "), said
        assert kernel.stdout.readline().strip() == "started"  # %train returned: the run is planned
        (folder,) = job_folders()
        job = folder.job()
        assert job.name == "mlp-digits" and job.identity.alive()
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait()
        assert process_start(job.pid) is not None  # the kernel is gone, the run is not
        result = find("mlp-digits").wait()
    finally:
        kernel.kill()
    assert folder.state() == FINISHED
    foreground = train("mlp", "digits", epochs=4, threads=1, seed=3, name="foreground")
    assert result.metrics == foreground.metrics  # the same seed and threads: exactly the same run
    assert [h["test_accuracy"] for h in result.history] == [h["test_accuracy"] for h in foreground.history]
    run_dir = jobs_here / "runs" / "mlp-digits"
    assert (run_dir / "events.jsonl").exists() and (run_dir / "output.log").exists() and (run_dir / "model.pt").exists()


def test_a_second_kernel_attaching_mid_run_sees_every_epoch_then_stops_it_resumably(jobs_here):
    from colabmagic.train import train

    run = train("mlp", "digits", epochs=400, threads=1, seed=0, checkpoint_every=0.001, background=True)
    assert run.name == "mlp-digits" and run.state == RUNNING
    wait_for(lambda: checkpoint_files(jobs_here / "runs" / "mlp-digits" / "checkpoints"))  # epochs went by

    # another process is another kernel: it attaches, sees the history, then 3 live epochs, then stops the run
    follower = textwrap.dedent("""
        from colabmagic.errors import TrainingInterrupted
        from colabmagic.train.background import find
        from colabmagic.train.callbacks import Callback
        run = find("mlp-digits")
        history = run.events_file.read_text().count('"on_epoch_end"')  # what happened before attaching

        class Watch(Callback):
            begun, seen = None, []
            def on_train_begin(self, info):
                self.begun = info.epochs
            def on_epoch_end(self, epoch, metrics):
                self.seen.append(epoch)
                if len(self.seen) == history + 3:
                    run.stop(wait=False)

        watch = Watch()
        try:
            run.attach([watch])
        except TrainingInterrupted as stopped:
            print("stopped", stopped.where, flush=True)
        print(watch.begun, watch.seen, flush=True)
    """)
    out = subprocess.run([sys.executable, "-c", follower], capture_output=True, text=True, timeout=300,
                         env={**os.environ}, check=True).stdout.splitlines()
    assert out[0].startswith("stopped Training stopped (--stop) at epoch"), out
    begun, seen = out[1].split(" ", 1)
    seen = eval(seen)
    assert begun == "400" and seen == list(range(len(seen))) and 3 < len(seen) < 400  # every epoch, once, in order
    assert run.state == STOPPED
    outcome = run.folder.outcome()
    assert outcome.resume is not None
    resumed = train("mlp", "digits", epochs=400, threads=1, seed=0, name="mlp-digits", resume=True, background=True)
    assert resumed.job.start_epoch >= len(seen) - 1  # continued from the stop's checkpoint
    resumed.stop()


def test_magics_jobs_attach_stop_and_a_dead_run_in_a_fresh_kernel(shell, jobs_here, capsys):
    run_ok(shell, "%train mlp digits --epochs 400 --threads 1 --background --name long")
    out = capsys.readouterr().out
    assert "long trains in the background" in out and "%train --attach long" in out
    # a fresh kernel (another process) lists it
    listing = subprocess.run([sys.executable, "-c", "from colabmagic.train.background import jobs; print(jobs())"],
                             capture_output=True, text=True, timeout=120, env={**os.environ}, check=True).stdout
    assert listing.splitlines()[0].split()[:3] == ["name", "state", "epoch"]
    assert "long" in listing and ("running" in listing or "starting" in listing)

    run_ok(shell, "%train --stop long")
    out = capsys.readouterr().out
    assert "Training stopped (--stop) at epoch" in out
    assert "%train mlp digits --epochs 400 --threads 1 --background --name long --resume" in out
    assert checkpoint_files(jobs_here / "runs" / "long" / "checkpoints")
    assert "stopped" in str(jobs())

    # a run whose process is killed: dead, with the line that resumes it
    run_ok(shell, "%train mlp digits --epochs 400 --threads 1 --background --name long --resume")
    capsys.readouterr()
    victim = find("long")
    wait_for(lambda: len(checkpoint_files(jobs_here / "runs" / "long" / "checkpoints")) >= 1)
    os.kill(victim.job.pid, signal.SIGKILL)
    wait_for(lambda: victim.state == DEAD, 30)
    run_ok(shell, "%train --jobs")
    out = capsys.readouterr().out
    assert "dead" in out
    assert "long: its process died; resume with: %train mlp digits --epochs 400 --threads 1 --background --name " \
           "long --resume" in out


@pytest.mark.parametrize("line, expected", [
    ("%train mlp digits --lr -1 --background", "lr"),
    # an error the run's own process raises names options as the foreground %train does
    ("%train mlp nolabel.csv --background", "pass --target COLUMN"),
    ("%train mlp digitz --background", "did you mean 'digits'"),
    ("%train --attach nothing-here", "No background run named 'nothing-here'"),
    ("%train --stop nothing-here", "No background run named 'nothing-here'"),
])
def test_bad_input_is_one_line_in_the_kernel_and_leaves_nothing_running(shell, jobs_here, line, expected):
    (jobs_here / "nolabel.csv").write_text("a,b\n1,2\n3,4\n")
    result = shell.run_cell(line, store_history=False)
    assert type(result.error_in_exec) is UsageError, result.error_in_exec
    assert expected in str(result.error_in_exec) and "\n" not in str(result.error_in_exec)
    for folder in job_folders():
        assert folder.state() not in (STARTING, RUNNING)


def test_the_sessions_limit_stops_a_background_run_with_a_checkpoint(shell, jobs_here, monkeypatch):
    import colabmagic.session as session

    clock = session.Session(limit=3600, persist=False, notify=lambda message: None)
    monkeypatch.setattr(session.wiring, "_current", clock)
    run_ok(shell, "%train mlp digits --epochs 400 --threads 1 --background --quiet --name limited")
    run = find("limited")
    wait_for(lambda: checkpoint_files(jobs_here / "runs" / "limited" / "checkpoints"))
    clock.check(now=clock.clock() + 7200)
    wait_for(lambda: run.state == STOPPED)
    assert "the session's time limit was reached" in run.folder.outcome().message


def test_a_ddp_run_in_the_background(jobs_here):
    """--devices N detaches the same way: the background process is the launcher torchrun's workers watch."""
    from colabmagic.train import train

    run = train("mlp", "digits", epochs=2, devices=2, device="cpu", background=True)
    result = run.wait()
    assert run.state == FINISHED and result.metrics["test_accuracy"] > 0.8


def test_a_run_that_ends_between_two_looks_is_not_taken_for_dead(jobs_here):
    """The state is read as outcome, then job, then the process: a run that writes its outcome and
    exits between the first and the last look has ended, it was not killed."""
    from colabmagic.train.background.records import FAILED, Job, JobFolder, Outcome, Spec

    folder = JobFolder.create(Spec(options={}, cwd=str(jobs_here)))
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    job = Job(ended.pid, process_start(ended.pid), time.time(), name="quick")
    ended.wait()
    folder.write_job(job)
    looks = iter([None])                    # the first look finds no outcome; the second finds it
    written = Outcome(FAILED, time.time(), message="No such dataset")
    folder.outcome = lambda: next(looks, written)
    assert folder.state() == FAILED
    folder.outcome = lambda: None           # killed without a word: dead
    assert folder.state() == DEAD


def test_the_listing_reads_only_what_a_run_added_since_its_last_look(tmp_path):
    """The toolbar asks every few seconds while a run appends for hours: each look reads the new lines
    (a half-written one next time), and a new run of the same name starts over."""
    import json as jsonlib

    from colabmagic.train.background.listing import _progress

    events = tmp_path / "events.jsonl"

    def line(hook, payload):
        return jsonlib.dumps({"hook": hook, "payload": payload}) + "\n"

    events.write_text('{"record_format": "colabmagic-train-events", "record_version": 1, "started": 1.0}\n'
                      + line("on_progress", {"epoch": 0, "global_step": 5})
                      + line("on_epoch_end", {"epoch": 0, "metrics": {"val_accuracy": 0.8}}))
    assert _progress(events) == ({"epoch": 0, "global_step": 5}, "val_accuracy 0.8000")
    half = line("on_progress", {"epoch": 1, "global_step": 12})
    with open(events, "a") as file:
        file.write(line("on_epoch_end", {"epoch": 1, "metrics": {"val_accuracy": 0.7}}) + half[:20])
    assert _progress(events) == ({"epoch": 0, "global_step": 5}, "val_accuracy 0.8000")  # the best so far
    with open(events, "a") as file:
        file.write(half[20:])
    assert _progress(events)[0] == {"epoch": 1, "global_step": 12}
    events.unlink()                                   # a resumed run of that name: its own stream
    events.write_text('{"record_format": "colabmagic-train-events", "record_version": 1, "started": 2.0}\n'
                      + line("on_epoch_end", {"epoch": 2, "metrics": {"val_accuracy": 0.5}}) + "x" * 200)
    assert _progress(events) == (None, "val_accuracy 0.5000")
