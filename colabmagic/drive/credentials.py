"""Which remote, with which credentials: what `mount(remote=..., service_account=...)` resolves to.

In this order: an existing remote (`remote="gdrive"`), `service_account=FILE`, the secrets
DRIVE_SERVICE_ACCOUNT (a file path or its JSON) or DRIVE_TOKEN (an rclone token), a configured
remote of type drive, or else the guided set-up (`authorize_drive`, rclone's headless authorize
flow) that writes [gdrive] into the rclone config with mode 0600. Tokens go to rclone through its
environment, never on its command line and never into a message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import Callable

from ..errors import MountError
from ..locale import tr
from ..processes import end_child
from . import rclone

DRIVE_FOLDER = "MyDrive"  # Colab's name for the Drive root inside the mount point


def resolve_remote(remote: str | None, service_account: str | os.PathLike | None,
                   ask: Callable[[str], str] | None, show: Callable[[str], None]) -> tuple[str, str, dict]:
    """-> (rclone spec "NAME:path", folder name under the mount point, extra environment).

    ASK is the hidden prompt of the guided set-up (None: getpass); SHOW receives its instructions."""
    if service_account is not None:
        return ":drive:", DRIVE_FOLDER, _service_account_env(Path(service_account).expanduser())
    if remote:
        name, _, sub = remote.partition(":")
        known = rclone.remotes()
        if name not in known:
            listed = ", ".join(sorted(known)) or tr("none")
            raise MountError(tr("No rclone remote named {name!r} in {config} (configured: {listed}): create it with "
                                "`rclone config`, or run %mount_drive without --remote to set up Google Drive").format(
                name=name, config=rclone.config_path(), listed=listed))
        return f"{name}:{sub}", DRIVE_FOLDER if known[name] == "drive" else name, {}
    secret = _secret("DRIVE_SERVICE_ACCOUNT")
    if secret:
        if secret.lstrip().startswith("{"):
            return ":drive:", DRIVE_FOLDER, {"RCLONE_DRIVE_SERVICE_ACCOUNT_CREDENTIALS": secret, "RCLONE_DRIVE_SCOPE": "drive"}
        return ":drive:", DRIVE_FOLDER, _service_account_env(Path(secret).expanduser())
    secret = _secret("DRIVE_TOKEN")
    if secret:
        return ":drive:", DRIVE_FOLDER, {"RCLONE_DRIVE_TOKEN": secret, "RCLONE_DRIVE_SCOPE": "drive"}
    known = rclone.remotes()
    drives = sorted(n for n, kind in known.items() if kind == "drive")
    if "gdrive" in drives or len(drives) == 1:
        return f"{'gdrive' if 'gdrive' in drives else drives[0]}:", DRIVE_FOLDER, {}
    if len(drives) > 1:
        raise MountError(tr("Several Google Drive remotes are configured ({names}): choose one with --remote "
                            "NAME").format(names=", ".join(drives)))
    token = authorize_drive(ask or _hidden_prompt, show)
    name = next(n for n in ("gdrive", *(f"gdrive{i}" for i in range(2, 100))) if n not in known)
    where = rclone.add_remote(name, {"type": "drive", "scope": "drive", "token": token})
    show(tr("Saved the Google Drive remote {name!r} in {path} (mode 0600); next time: %mount_drive --remote "
            "{name}").format(name=name, path=where))
    return f"{name}:", DRIVE_FOLDER, {}


def _service_account_env(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        why = getattr(err, "strerror", None) or tr("not JSON")
        raise MountError(tr("Cannot read the service account key {path}: {why}").format(path=path, why=why)) from err
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise MountError(tr("{path} is not a Google service account key (its \"type\" must be "
                            "\"service_account\")").format(path=path))
    if os.name == "posix" and path.stat().st_mode & 0o077:
        warnings.warn(tr("{path} can be read by other users: chmod 600 {path}").format(path=path), stacklevel=3)
    return {"RCLONE_DRIVE_SERVICE_ACCOUNT_FILE": str(path), "RCLONE_DRIVE_SCOPE": "drive"}


def _secret(name: str) -> str | None:
    from .. import secrets

    return secrets.get(name)


def _hidden_prompt(prompt: str) -> str:
    import getpass

    return getpass.getpass(prompt)


# --- the guided set-up: rclone's headless authorize flow ---------------------------------------

AUTH_URL = re.compile(r"(https?://127\.0\.0\.1:\d+/auth\?state=[\w-]+)")


def authorize_drive(ask: Callable[[str], str], show: Callable[[str], None], *, wait: float = 300) -> str:
    """Run `rclone authorize drive` and return the token JSON (never shown, never logged).

    `show` receives the instructions with the link; `ask` (a hidden prompt) receives the pasted
    token, or an empty answer once the browser on this machine said "Success".
    """
    proc = subprocess.Popen([rclone.binary(), "authorize", "drive", "--auth-no-open-browser"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        link = _wait_for(lambda: next((m.group(1) for line in list(output) if (m := AUTH_URL.search(line))), None),
                         20, proc, reader)
        show(tr("Google Drive set-up (rclone's headless authorize flow):\n"
                "  1. Open {link} in a browser on this machine, sign in and allow access;\n"
                "     when the page says Success, press Enter below.\n"
                "  2. Browser on another machine? There run:  rclone authorize \"drive\"\n"
                "     and paste the token it prints (the {{...}} line) below.").format(link=link))
        answer = ask(tr("Token (or Enter after Success): ")).strip()
        if not answer:
            answer = _wait_for(lambda: _token_in("".join(output)), wait, proc, reader) or ""
        token = _token_in(answer)
        if token is None:
            raise MountError(tr("That is not an rclone token: paste the whole {\"access_token\": ...} line that "
                                "`rclone authorize \"drive\"` prints"))
        return token
    finally:
        end_child(proc)


def _token_in(text: str) -> str | None:
    for candidate in re.findall(r"\{.*?\}(?=\s*(?:<---|$))", text, flags=re.S) or [text]:
        try:
            value = json.loads(candidate.strip())
        except ValueError:
            continue
        if isinstance(value, dict) and ("access_token" in value or "refresh_token" in value):
            return json.dumps(value, separators=(",", ":"))
    return None


def _wait_for(probe, seconds: float, proc, reader: threading.Thread):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := probe()) is not None:
            return value
        if proc.poll() is not None:
            reader.join(5)  # it ends at the pipe's end: the last lines are in (a fixed sleep lost them under load)
            if (value := probe()) is not None:
                return value
            raise MountError(tr("rclone authorize stopped before it was done: run %mount_drive again"))
        time.sleep(0.05)
    raise MountError(tr("rclone authorize did not answer within {seconds:.0f} s: run %mount_drive again").format(
        seconds=seconds))
