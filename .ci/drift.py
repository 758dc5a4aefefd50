"""Which installed packages differ from requirements.lock: what `make test-latest` runs on that
`make test` does not. Run with the environment's own python: .venv-latest/bin/python .ci/drift.py"""

import re
from importlib.metadata import distributions
from pathlib import Path

from packaging.utils import canonicalize_name

lock_file = Path(__file__).resolve().parent.parent / "requirements.lock"
locked = {
    canonicalize_name(name): version
    for name, version in re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", lock_file.read_text(), re.M)}
installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
rows = [(name, locked.get(name, "-"), installed.get(name, "-"))
        for name in sorted(set(locked) | set(installed)) if locked.get(name) != installed.get(name)]
rows = [row for row in rows if row[0] != "colabmagic"]
print(f"{len(rows)} packages differ from requirements.lock (name, locked, installed):")
for name, was, now in rows:
    print(f"  {name:<32} {was:<16} {now}")
