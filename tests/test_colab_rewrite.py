"""The compat transformer: what it rewrites in a user's cell, and what it leaves exactly as typed."""

from __future__ import annotations

import pytest

from colabmagic.colab.rewrite import rewrite

ROOT = "/home/u/content"


def text(cell: str, root: str = ROOT) -> str:
    return rewrite(cell, root).text


@pytest.mark.parametrize("cell, expected", [
    ("from google.colab import drive", "from colabmagic.colab import drive"),
    ("from google.colab import drive, files, userdata", "from colabmagic.colab import drive, files, userdata"),
    ("import google.colab", "import colabmagic.colab"),
    ("import google.colab as gc", "import colabmagic.colab as gc"),
    ("from google.colab.patches import cv2_imshow", "from colabmagic.colab.patches import cv2_imshow"),
    ("import google.colab.drive", "import colabmagic.colab.drive"),
    ("google.colab.output.clear()", "colabmagic.colab.output.clear()"),
    ("x = (google . colab).files", "x = (colabmagic.colab).files"),
    ("from google import colab", "from colabmagic import colab"),
    ("from google import colab as c", "from colabmagic import colab as c"),
    ("try:\n    import google.colab\n    IN_COLAB = True\nexcept ImportError:\n    IN_COLAB = False\n",
     "try:\n    import colabmagic.colab\n    IN_COLAB = True\nexcept ImportError:\n    IN_COLAB = False\n"),
    ("%%time\nfrom google.colab import files\n", "%%time\nfrom colabmagic.colab import files\n"),
])
def test_google_colab_becomes_colabmagic_colab(cell, expected):
    done = rewrite(cell, ROOT)
    assert done.text == expected
    assert list(done.notes) == ["google.colab"]


@pytest.mark.parametrize("cell", [
    "import google.colabx",
    "from google.colabx import y",
    "import google.cloud.storage",
    "from google import auth",
    "from google import colab, auth",          # a mixed import: not guessed at
    "x = foo.google.colab",                    # someone else's attribute
    "s = 'from google.colab import drive'",     # a string
    "# from google.colab import drive",        # a comment
    "x = 1  # google.colab",
    "'google.colab' in sys.modules",
    "%%writefile setup.py\nfrom google.colab import drive\n",   # a cell magic's data
    "%%html\n<p>/content</p>\n",
])
def test_leaves_alone(cell):
    done = rewrite(cell, ROOT)
    assert done.text == cell and not done.changed


@pytest.mark.parametrize("cell, expected", [
    ("df = pd.read_csv('/content/data/train.csv')", f"df = pd.read_csv('{ROOT}/data/train.csv')"),
    ('os.chdir("/content")', f'os.chdir("{ROOT}")'),
    ("p = f'/content/{name}.csv'", f"p = f'{ROOT}/{{name}}.csv'"),
    ("p = r'/content/x'", f"p = r'{ROOT}/x'"),
    ("p = b'/content/x'", f"p = b'{ROOT}/x'"),
    ('s = """a\n/content/b"""', f's = """a\n{ROOT}/b"""'),
    ("!ls /content/sample_data", f"!ls {ROOT}/sample_data"),
    ("%cd /content", f"%cd {ROOT}"),
    ("if True:\n    !unzip -q x.zip -d /content/x\n", f"if True:\n    !unzip -q x.zip -d {ROOT}/x\n"),
    ("%%bash\ncd /content\nls /content/drive\n", f"%%bash\ncd {ROOT}\nls {ROOT}/drive\n"),
    ("%%writefile /content/a.txt\n/content stays\n", f"%%writefile {ROOT}/a.txt\n/content stays\n"),
])
def test_content_paths_map_to_the_root(cell, expected):
    done = rewrite(cell, ROOT)
    assert done.text == expected
    assert list(done.notes) == ["content"]
    assert ROOT in done.notes["content"]


@pytest.mark.parametrize("cell", [
    "x = '/contents/a'", "x = '/content.txt'", "x = '~/content/a'", "x = '/srv/content/a'",
    "x = '/content-x'", "# cd /content", "x = 1  # /content", "!ls /contents",
])
def test_only_content_itself_is_mapped(cell):
    assert text(cell) == cell


def test_nothing_is_mapped_when_the_root_is_content():
    cell = "df = pd.read_csv('/content/x.csv')\n!ls /content\n"
    assert text(cell, "/content") == cell


def test_a_root_with_spaces_is_quoted_in_shell_lines_only():
    root = "/home/u/my content"
    assert text("!ls /content/x", root) == "!ls '/home/u/my content'/x"
    assert text("p = '/content/x'", root) == "p = '/home/u/my content/x'"


def test_a_root_that_cannot_be_written_into_the_literal_is_left_out():
    root = "/home/u/it's"
    assert text("p = '/content/x'", root) == "p = '/content/x'"
    assert text('p = "/content/x"', root) == "p = \"/home/u/it's/x\""


@pytest.mark.parametrize("cell, expected, kind", [
    ("%load_ext tensorboard", "pass", "load_ext tensorboard"),
    ("%reload_ext tensorboard", "pass", "load_ext tensorboard"),
    ("%tensorflow_version 2.x", "pass", "tensorflow_version"),
    ("%tensorboard --logdir logs", "%tensorboard_inline --logdir logs", "tensorboard"),
    ("%tensorboard --logdir=logs/fit --port 6007", "%tensorboard_inline --logdir logs/fit --port 6007", "tensorboard"),
    ("%tensorboard --logdir logs --reload_interval 1 --bind_all", "%tensorboard_inline --logdir logs",
     "tensorboard"),
])
def test_pasted_magic_lines(cell, expected, kind):
    done = rewrite(cell, ROOT)
    assert done.text == expected and list(done.notes) == [kind]


def test_kaggle_download_lines_go_to_kaggle_cli_and_other_kaggle_lines_run_as_written():
    done = rewrite("!kaggle datasets download -d alice/iris -p /content/data --unzip", ROOT)
    assert done.text == ('__import__("colabmagic.colab.kaggle_cli", fromlist=["run"]).run(get_ipython()'
                         f".var_expand('kaggle datasets download -d alice/iris -p {ROOT}/data --unzip'))")
    assert set(done.notes) == {"kaggle"}
    assert "competitions" in text("!kaggle competitions download -c titanic")
    assert text("!kaggle competitions download -c titanic").startswith("__import__")
    for cell in ("!pip install -q kaggle", "!mkdir ~/.kaggle", "!cp kaggle.json ~/.kaggle/",
                 "!chmod 600 ~/.kaggle/kaggle.json", "!kaggle datasets list", "x = '!kaggle datasets download a/b'"):
        assert text(cell) == cell


def test_every_line_keeps_its_place():
    """Tracebacks point at the user's own lines: a rewrite never adds or removes one."""
    cell = ("from google.colab import drive\n%load_ext tensorboard\nif True:\n    %tensorflow_version 2.x\n"
            "!kaggle datasets download alice/iris\nraise ValueError('/content')\n")
    assert len(text(cell).splitlines()) == len(cell.splitlines())
    assert text(cell).splitlines()[3] == "    pass"


def test_a_cell_that_does_not_tokenize_is_left_for_ipython_to_report():
    cell = "s = 'unterminated\nfrom google.colab import drive\n"
    assert rewrite(cell, ROOT).text.count("\n") == cell.count("\n")


def test_a_cell_with_bad_indentation_is_left_for_ipython_to_report():
    cell = "if True:\n        x = '/content'\n    y = 1\n"
    assert text(cell) == cell
