"""`google.colab.files`: `upload()` and `download(path)`.

upload() returns `{name: bytes}` and saves the files into the working folder, as Colab does. In a
browser (a kernel of a Jupyter server) a file picker blocks the cell until files are chosen:
jupyter-ui-poll lets the widget's events in while the cell waits. With no browser (nbclient,
papermill, a terminal) it takes the files named in $COLABMAGIC_UPLOAD (os.pathsep-separated).
download(path) makes the browser save the file through the server extension's authenticated
download route; with no browser it copies the file into $COLABMAGIC_DOWNLOAD_DIR (~/Downloads).
"""

from __future__ import annotations

import html
import json
import os
import shutil
from pathlib import Path

from ..files import write_atomically
from ..locale import tr
from . import browser, download_offer
from .failure import ColabAPIError

UPLOAD_ENV = "COLABMAGIC_UPLOAD"
DOWNLOAD_ENV = "COLABMAGIC_DOWNLOAD_DIR"


def upload(target_dir: str = "") -> dict[str, bytes]:
    """Files chosen by the user, saved into TARGET_DIR (default: the working folder): {name: bytes}."""
    named = os.environ.get(UPLOAD_ENV)
    if named:
        chosen = _named_files(named)
    elif browser.kernel_server() is not None:
        chosen = _picked_files()
    else:
        raise ColabAPIError(tr("files.upload(): no browser shows this kernel (nbclient, papermill, a terminal): "
                               "name the files in ${variable}, separated by {separator!r}").format(
                                   variable=UPLOAD_ENV, separator=os.pathsep))
    target = Path(target_dir or ".")
    target.mkdir(parents=True, exist_ok=True)
    for name, data in chosen.items():
        write_atomically(target / name, lambda file, data=data: file.write(data))
        print(tr("Saving {name} to {path}").format(name=name, path=target / name if target_dir else name))
    return chosen


def _named_files(named: str) -> dict[str, bytes]:
    chosen = {}
    for entry in filter(None, named.split(os.pathsep)):
        path = Path(entry).expanduser()
        if not path.is_file():
            raise ColabAPIError(tr("files.upload(): {path} (in ${variable}) is not a file").format(
                path=path, variable=UPLOAD_ENV))
        chosen[path.name] = path.read_bytes()
    return chosen


def _picked_files() -> dict[str, bytes]:
    from ..errors import require

    ui_events = require("jupyter_ui_poll", "colab").ui_events  # lets the picker's events in while the cell waits
    import time

    import ipywidgets
    from IPython.display import display

    picker = ipywidgets.FileUpload(multiple=True, description=tr("Choose files"))
    said = tr("Upload widget: choose the files; the cell goes on when they have arrived")
    display(ipywidgets.VBox([ipywidgets.HTML(html.escape(said)), picker]))
    with ui_events() as poll:
        while not picker.value:
            poll(10)           # handle up to 10 of the widget's messages, then look again
            time.sleep(0.05)
    picker.disabled = True
    return {item["name"]: bytes(item["content"]) for item in picker.value}


def download(filename: str) -> None:
    """Make the browser save FILENAME; with no browser, copy it into $COLABMAGIC_DOWNLOAD_DIR."""
    path = Path(filename).expanduser()
    if not path.is_file():
        raise FileNotFoundError(tr("Cannot find file: {filename}").format(filename=filename))  # Colab's own error
    server = browser.kernel_server()
    if server is None:
        copy = _copy_to_downloads(path)
        print(tr("No browser shows this kernel: {name} copied to {copy}").format(name=path.name, copy=copy))
        return
    from IPython.display import display

    display(offer_bundle(server.base_url, download_offer.offer(path), path.name), raw=True)


def offer_bundle(base_url: str, token: str, name: str) -> dict:
    """The output that makes the browser download: a script that follows the link at once, and the
    link itself (for a frontend that does not run scripts)."""
    url = f"{base_url}colabmagic/api/download/{token}"
    script = (f"const a = document.createElement('a'); a.href = {json.dumps(url)}; "
              f"a.download = {json.dumps(name)}; document.body.appendChild(a); a.click(); a.remove();")
    said = tr("Download {name}").format(name=name)
    link = f'<a href="{html.escape(url)}" download="{html.escape(name)}">{html.escape(said)}</a>'
    return {"text/plain": said, "text/html": link, "application/javascript": script}


def _copy_to_downloads(path: Path) -> Path:
    folder = Path(os.environ.get(DOWNLOAD_ENV) or "~/Downloads").expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():  # as a browser does: name (1).ext, name (2).ext
        target = folder / f"{path.stem} ({n}){path.suffix}"
        n += 1
    with path.open("rb") as source:
        write_atomically(target, lambda file: shutil.copyfileobj(source, file))
    return target
