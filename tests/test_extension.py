"""`%load_ext colabmagic`: registers every magic, imports nothing heavy, unloads cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from colabmagic.magics import MAGIC_CLASSES, MAGICS, register, unregister

HEAVY_MODULES = ["torch", "tensorboard", "kagglehub", "jupyter_server", "ipywidgets", "pynvml", "psutil",
                 "numpy", "sklearn"]

# What a fresh interpreter reports after %load_ext: the heavy modules it imported and our magics.
PROBE = f"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.run_cell("%load_ext colabmagic")
magics = shell.magics_manager.magics
print(json.dumps({{
    "heavy": [m for m in {HEAVY_MODULES!r} if m in sys.modules],
    "line": sorted(magics["line"]), "cell": sorted(magics["cell"]),
    "magic_modules": sorted(m for m in sys.modules if m.startswith("colabmagic.magics.")),
    "lazy_supported": hasattr(shell.magics_manager, "load_all_lazy_magics"),
}}))
"""


def probe_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def our_magic_names():
    names = {"line": set(), "cell": set()}
    for module_name, class_name in MAGIC_CLASSES.items():
        module = __import__(f"colabmagic.magics.{module_name}", fromlist=[class_name])
        for kind, table in getattr(module, class_name).magics.items():
            names[kind] |= set(table)
    return names


def test_load_ext_imports_nothing_heavy():
    seen = probe_fresh_interpreter()
    assert seen["heavy"] == []
    assert "gpu_info" in seen["line"]
    assert "timeit_gpu" in seen["cell"]


def test_the_declared_names_are_the_classes_own():
    """load_ext declares magics from MAGICS without importing their modules: it must not drift."""
    for module_name, (class_name, names) in MAGICS.items():
        module = __import__(f"colabmagic.magics.{module_name}", fromlist=[class_name])
        defined = {kind: tuple(table) for kind, table in getattr(module, class_name).magics.items() if table}
        assert defined == names, module_name


def test_load_ext_declares_the_magics_and_imports_their_modules_on_first_use():
    seen = probe_fresh_interpreter()
    if not seen["lazy_supported"]:
        pytest.skip("this IPython has no lazy magics: every class is registered at load_ext")
    assert seen["magic_modules"] == []
    code = PROBE.replace('shell.run_cell("%load_ext colabmagic")',
                         'shell.run_cell("%load_ext colabmagic"); shell.run_cell("%gpu_info -q")')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    used = json.loads(out.stdout.strip().splitlines()[-1])
    assert "colabmagic.magics.gpu_info" in used["magic_modules"]
    assert "colabmagic.magics.train" not in used["magic_modules"]


def test_without_lazy_magics_every_class_is_registered_at_once(shell):
    """What an older IPython gets: real magics, not declarations."""
    from IPython.core import magic

    lazy_type = getattr(magic, "LazyMagic", ())  # absent where IPython has no lazy magics
    unregister(shell)
    register(shell, lazy=False)
    for names in our_magic_names().values():
        for name in names:
            table = shell.magics_manager.magics["cell" if name == "timeit_gpu" else "line"]
            assert callable(table[name]) and not isinstance(table[name], lazy_type)
    assert shell.run_cell("%gpu_info -q", store_history=False).success


def test_every_declared_magic_is_registered_and_unregistered(shell):
    names = our_magic_names()
    assert names["line"] and names["cell"]
    manager = shell.magics_manager
    for kind in ("line", "cell"):
        assert names[kind] <= set(manager.magics[kind])

    shell.run_cell("%unload_ext colabmagic", store_history=False)
    for kind in ("line", "cell"):
        assert not names[kind] & set(manager.magics[kind])
    assert shell.run_cell("%gpu_info", store_history=False).error_in_exec is not None

    shell.run_cell("%load_ext colabmagic", store_history=False)
    for kind in ("line", "cell"):
        assert names[kind] <= set(manager.magics[kind])


def test_unload_leaves_ipython_magics_alone(shell):
    shell.run_cell("%unload_ext colabmagic", store_history=False)
    assert "timeit" in shell.magics_manager.magics["line"]
    assert "timeit" in shell.magics_manager.magics["cell"]
    shell.run_cell("%load_ext colabmagic", store_history=False)


@pytest.mark.parametrize("query, usage, option_help", [
    ("%gpu_info?", "%gpu_info [--json] [--watch SECONDS]", "Refresh the same output every SECONDS"),
    ("%%timeit_gpu?", "%timeit_gpu [-n N] [-r R]", "Do not flush the GPU's L2 cache"),
    ("%train?", "%train [--list] [--load RUN] [--data X Y]", "Continue from the newest checkpoint."),
])
def test_help_shows_generated_usage(shell, capsys, query, usage, option_help):
    """`%magic?` shows the usage line and option help that magic_arguments generates
    (IPython >= 9 prints it without the "usage:" prefix argparse uses)."""
    shell.run_cell(query, store_history=False)
    out = capsys.readouterr().out
    assert usage in out
    assert option_help in out


def test_bad_variable_name_is_one_usage_error(shell):
    result = shell.run_cell("%gpu_info -q -v 1abc", store_history=False)
    assert type(result.error_in_exec) is UsageError
    assert "variable name" in str(result.error_in_exec)


def test_jupyter_builder_develop_links_the_built_extension(tmp_path):
    """`jupyter-builder develop --overwrite .` (what `jupyter labextension develop` now runs) finds the
    build through _jupyter_labextension_paths and links it, as `make lab` does. Run as a user runs it,
    on the checkout's path: jupyter_builder's Python API changed its argument from a module name to a
    path in 1.3.1, the command line did not."""
    import subprocess
    import sys
    from pathlib import Path

    import colabmagic

    builder = Path(sys.executable).parent / "jupyter-builder"
    if not builder.exists():
        pytest.skip("jupyter_builder is not installed here (make test installs it from the lock)")
    built = Path(colabmagic.__file__).parent / colabmagic._jupyter_labextension_paths()[0]["src"]
    if not (built / "package.json").exists():
        pytest.skip("the JupyterLab extension is not built here (make lab builds it)")
    root = Path(colabmagic.__file__).parent.parent
    done = subprocess.run([str(builder), "develop", "--overwrite", "--DevelopLabExtensionApp.sys_prefix=False",
                           f"--DevelopLabExtensionApp.labextensions_dir={tmp_path}",
                           str(root)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    link = tmp_path / "colabmagic"
    assert link.is_symlink() and link.resolve() == built.resolve()
    assert json.loads((link / "package.json").read_text())["name"] == "colabmagic"


@pytest.mark.skipif(os.environ.get("COLABMAGIC_LOCKED") != "1", reason="not a `make test` run from requirements.lock")
def test_make_test_runs_on_exactly_the_locked_versions():
    import subprocess
    import sys
    from pathlib import Path

    drift = Path(__file__).resolve().parent.parent / ".ci" / "drift.py"
    out = subprocess.run([sys.executable, str(drift)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("0 packages differ"), out.stdout
