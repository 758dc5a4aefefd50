"""Colab notebooks (tests/colab_notebooks/, saved with Colab's `colab` metadata) run unchanged in a real
kernel (nbclient), offline: compat turns on by itself from the metadata, Drive is `rclone serve
webdav`, Kaggle the fake API through the real kagglehub. A run leaves no process, mount or
`/content` behind.
"""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from fake_kaggle import KEY, USERNAME, FakeKaggle, csv_bytes
from test_drive import Served, fuse_mounts, our_processes, wait_for

NOTEBOOKS = Path(__file__).resolve().parent / "colab_notebooks"
CHECKOUT = Path(__file__).resolve().parent.parent
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PYTHONHASHSEED")
CONTENT_EXISTED = os.path.exists("/content")


def kernel_env(tmp_path: Path, notebook: Path, **extra: str) -> dict[str, str]:
    """A clean kernel environment: this test's HOME and state folders, the notebook as jupyter_server
    names it, and nothing of the developer's credentials."""
    env = {name: os.environ[name] for name in KEPT_ENV if name in os.environ}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), PYTHONPATH=str(CHECKOUT), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), COLABMAGIC_STATE_DIR=str(tmp_path / "state"),
               COLABMAGIC_CONTENT=str(tmp_path / "content"), JPY_SESSION_NAME=str(notebook),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), MPLBACKEND="agg", **extra)
    return env


def execute(name: str, tmp_path: Path, **extra: str) -> nbformat.NotebookNode:
    """Run the notebook as JupyterLab would after `c.InteractiveShellApp.extensions = ['colabmagic']`."""
    notebook = tmp_path / name
    notebook.write_bytes((NOTEBOOKS / name).read_bytes())
    book = nbformat.read(notebook, as_version=4)
    client = NotebookClient(book, timeout=240, kernel_name="python3", extra_arguments=["--ext=colabmagic"],
                            resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=kernel_env(tmp_path, notebook, **extra))
    finally:
        nbformat.write(book, tmp_path / f"executed-{name}")  # to read when a test fails
    return book


def outputs(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(output.get("data", {}).get("text/plain", ""))
        parts.append(output.get("data", {}).get("text/html", ""))
        parts.extend(output.get("traceback", []))
    return "\n".join(parts)


def code_cells(book) -> list:
    return [cell for cell in book.cells if cell.cell_type == "code"]


def assert_no_content_left() -> None:
    assert os.path.exists("/content") == CONTENT_EXISTED


# --- the google.colab API -----------------------------------------------------------------------

def test_the_colab_api_notebook(tmp_path):
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "table.csv").write_bytes(csv_bytes(10))
    (tmp_path / "upload" / "blob.bin").write_bytes(b"\x00\x01" * 50)
    upload = os.pathsep.join(str(tmp_path / "upload" / n) for n in ("table.csv", "blob.bin"))
    book = execute("colab_api.ipynb", tmp_path, MY_TOKEN="sekrit", COLABMAGIC_UPLOAD=upload,
                   COLABMAGIC_DOWNLOAD_DIR=str(tmp_path / "downloads"))
    content = tmp_path / "content"
    cells = code_cells(book)
    said = [outputs(cell) for cell in cells]

    # compat came on by itself (the notebook's Colab metadata), said so once, in the first cell
    assert "Colab compatibility on (colab_api.ipynb has Colab metadata)" in said[0]
    assert "%colab_compat off" in said[0]
    assert "IN_COLAB True False" in said[0]                  # the Colab branch, no google.colab module
    assert said[0].count("google.colab is colabmagic.colab") == 1
    assert sum(s.count("google.colab is colabmagic.colab here") for s in said) == 1  # announced once
    # /content is the content root, and the working folder
    assert f"CWD {content}" in said[1] and "hello from colab" in said[1]
    assert f"/content paths are mapped to {content}" in said[1]
    assert "BASH hello from colab" in said[2]
    assert (content / "notes.txt").read_text() == "hello from colab"
    # userdata: the environment first; Colab's error, shown as one line
    assert "TOKEN True" in said[3] and "NOT FOUND Secret NOT_THERE does not exist" in said[3]
    error = cells[4].outputs[0]
    assert error.output_type == "error" and error.ename == "SecretNotFoundError"
    assert len(error.traceback) == 1 and error.traceback[0].startswith("SecretNotFoundError: Secret NOT_THERE")
    # files: upload from $COLABMAGIC_UPLOAD into the working folder; download copies (no browser)
    assert "Saving table.csv to table.csv" in said[5] and "UPLOADED blob.bin 100" in said[5]
    assert (content / "table.csv").read_bytes() == csv_bytes(10)
    assert (content / "blob.bin").read_bytes() == b"\x00\x01" * 50
    assert (tmp_path / "downloads" / "notes.txt").read_text() == "hello from colab"
    assert f"copied to {tmp_path / 'downloads' / 'notes.txt'}" in said[6]
    # output: the tagged area was cleared, the other kept; the port, from the kernel's machine
    widgets = book.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    areas = [w["state"].get("outputs") for w in widgets.values() if w["model_name"] == "OutputModel"]
    texts = [json.dumps(area) for area in areas]
    assert len(areas) == 2 and not any("soon cleared" in t for t in texts)
    assert any("still here" in t for t in texts)
    assert 'src="http://localhost:8000/app"' in said[7] and 'height="300"' in said[7]
    assert "open the app</a>" in said[7]
    assert "EVAL_JS ColabAPIError" in said[8]
    # patches.cv2_imshow: BGR shown as RGB
    from PIL import Image

    png = next(o.data["image/png"] for o in cells[9].outputs if "image/png" in o.get("data", {}))
    image = Image.open(io.BytesIO(base64.b64decode(png)))
    assert image.size == (6, 4) and image.convert("RGB").getpixel((0, 0)) == (0, 0, 255)
    assert "AUTH ColabAPIError" in said[10] and "SHEETS ColabAPIError" in said[11]
    # the lines tutorials paste
    assert "%tensorflow_version does nothing here" in said[12]
    assert "%load_ext tensorboard is not needed" in said[12]
    assert "%tensorboard runs as %tensorboard_inline" in said[14]
    assert "fit" in said[14] and "loss" in said[14]          # the scalars, drawn inline (no Jupyter server)
    assert "No known TensorBoard instances running" in said[15]  # TensorBoard's own API still answers
    assert "UNASSIGN ColabAPIError" in said[16]
    assert "Colab compatibility is on (colab_api.ipynb came from Colab)" in said[17]
    assert_no_content_left()


# --- Drive ---------------------------------------------------------------------------------------

def left_behind(tmp_path: Path, served: Served) -> tuple[list, list]:
    """This test's FUSE mounts and its rclone/watchdog processes, but for the served remote itself."""
    marker = str(tmp_path)
    return fuse_mounts(marker), [pid for pid in our_processes(marker) if pid != served.process.pid]


@pytest.fixture
def served(tmp_path):
    """`rclone serve webdav` as Google Drive; no mount or rclone process of this test left after."""
    server = Served(tmp_path)
    try:
        yield server
    finally:
        # the kernel's end flushes and unmounts (its exit, else the mount's watchdog): wait for it
        wait_for(lambda: left_behind(tmp_path, server) == ([], []), seconds=120)
        server.stop()


def test_the_drive_notebook_mounts_writes_and_flushes(tmp_path, served):
    book = execute("colab_drive.ipynb", tmp_path, COLABMAGIC_DRIVE_REMOTE="served",
                   RCLONE_CONFIG=str(served.config))
    content = tmp_path / "content"
    said = [outputs(cell) for cell in code_cells(book)]
    assert f"Mounted at {content}/drive" in said[0]    # the notebook's '/content/drive', mapped
    assert "LISTED ['data', 'hello.txt']" in said[1]
    assert "READ hello from the remote" in said[1]        # "My Drive" reaches the remote's root too
    assert "train.csv" in said[1]                          # and a `!` line reads through it
    assert f"Drive already mounted at {content}/drive; to attempt to forcibly remount" in said[2]
    assert "All changes made in this colab session should now be visible in Drive." in said[3]
    assert (served.folder / "from_colab.txt").read_text() == "written in a notebook"
    assert f"Mounted at {content}/gdrive" in said[4]
    # the last mount was left to the kernel's end: its write still reached the remote
    wait_for(lambda: left_behind(tmp_path, served) == ([], []), seconds=120)
    assert (served.folder / "at_exit.txt").read_text() == "flushed when the kernel ends"
    for point in ("drive", "gdrive"):                      # no alias, no file left in the mount points
        assert [p.name for p in (content / point).iterdir()] in ([], ["served"])
        assert not any(p.is_symlink() for p in (content / point).iterdir())
    assert_no_content_left()


# --- Kaggle --------------------------------------------------------------------------------------

@pytest.fixture
def fake(tmp_path):
    server = FakeKaggle(tmp_path / "server")
    server.add_dataset("alice/iris", {"train.csv": csv_bytes(40), "test.csv": csv_bytes(8)}, version=2)
    server.add_competition("titanic", {"train.csv": csv_bytes(30), "gender_submission.csv": csv_bytes(5)})
    server.start()
    yield server
    server.stop()


def test_the_kaggle_ritual_leaves_what_the_cli_leaves(tmp_path, fake):
    pytest.importorskip("kagglehub")
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "kaggle.json").write_text(json.dumps({"username": USERNAME, "key": KEY}))
    book = execute("colab_kaggle.ipynb", tmp_path, COLABMAGIC_UPLOAD=str(tmp_path / "upload" / "kaggle.json"),
                   KAGGLEHUB_CACHE=str(tmp_path / "kagglehub"), **fake.environment())
    content = tmp_path / "content"
    said = [outputs(cell) for cell in code_cells(book)]
    kaggle_json = tmp_path / "home" / ".kaggle" / "kaggle.json"
    assert kaggle_json.is_file() and kaggle_json.stat().st_mode & 0o777 == 0o600
    # --unzip: the files in the folder, no zip
    assert sorted(p.name for p in (content / "data").iterdir()) == ["test.csv", "train.csv"]
    assert (content / "data" / "train.csv").read_bytes() == csv_bytes(40)
    assert "DATA ['test.csv', 'train.csv']" in said[-1]
    # without it: the bundle as NAME.zip in the working folder
    import zipfile

    with zipfile.ZipFile(content / "iris.zip") as bundle:
        assert sorted(bundle.namelist()) == ["test.csv", "train.csv"]
    with zipfile.ZipFile(content / "titanic.zip") as bundle:
        assert sorted(bundle.namelist()) == ["gender_submission.csv", "train.csv"]
    assert (content / "one" / "train.csv").read_bytes() == csv_bytes(40)     # -f FILE
    assert "!kaggle ... download runs through %kaggle_get" in said[2]
    assert all("kaggle: command not found" not in s and "Traceback" not in s for s in said)
    assert {call.auth for call in fake.log if call.host != "storage.googleapis.test"} == {"basic"}
    assert_no_content_left()
