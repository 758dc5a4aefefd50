"""`--devices N`: a planned training under torchrun (DDP), and the files its processes share.

launch.py (the notebook's side) writes a job to one private folder per run and starts torchrun;
worker.py (each rank) reads the job, trains, and rank 0 streams its callbacks' events and writes
the outcome. The folder, `<temp>/colabmagic-ddp-XXXXXXXX/` (mode 0700: it holds the dataset):

    owner.json    the process that started the run (pid and start time), a record (owner.py)
    job.pt        the plan: config, dataset tensors, initial weights, run folders, the plan's plain
                  fields and the owner, with a format version (job.py); torch.load reads it with
                  weights_only=True, so it holds tensors, numbers, strings, lists, dicts, tuples
    events.jsonl  rank 0's callback events, a header record then one `{"hook", "payload"}` line each,
                  appended and flushed as they happen (events.py)
    result.json   rank 0's outcome record (outcome.py); model.pt, its final weights, written before it
    stop.json     the launcher's stop request (a session expiring), a record (outcome.py)
    output.log    torchrun's stdout and stderr, for the error message when a run fails

Each file's format is owned by one module, which writes and reads both sides; every record carries
a format version (files.py's rules: unknown keys ignored, a newer major version refused in one line).
"""
