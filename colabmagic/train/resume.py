"""The `%train` line that continues a stopped run: the user's own line with --resume."""

from __future__ import annotations

import shlex


def resume_line(line: str, resume: dict | None) -> str:
    """The user's own %train line with --resume (and the run's actual name when a clash renamed it)."""
    tokens = [t for t in shlex.split(line) if t != "--resume"]
    name = (resume or {}).get("name")
    if name is not None:
        if "--name" in tokens:
            tokens[tokens.index("--name") + 1] = name
        else:
            tokens += ["--name", name]
    return "%train " + shlex.join(tokens + ["--resume"])
