# Every target installs what it needs into .venv first, so each works on a fresh machine.
# torch==2.13.0 goes in before anything that depends on torch: that pin takes the CPU wheel on
# this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0
# Every editable install first drops `make lab`'s link to the built extension: pip would write
# install.json through it into colabmagic/labextension/, and the next install would then add that
# file twice ("A second file is being added"). .lab-built depends on the installs and links it again.
LAB_LINK   := $(VENV)/share/jupyter/labextensions/colabmagic
UNLINK_LAB := rm -rf $(LAB_LINK) colabmagic/labextension/install.json

.PHONY: demo test bench lab clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.train-installed: pyproject.toml | $(PY)
	$(PIP) install -q $(TORCH)
	$(UNLINK_LAB)
	$(PIP) install -q -e '.[train]' ipykernel jupyter_client
	touch $@

# The tests need every extra: data (kagglehub, gdown, rclone), lab (Jupyter server, proxy, JupyterLab).
$(VENV)/.test-installed: pyproject.toml $(VENV)/.train-installed
	$(UNLINK_LAB)
	$(PIP) install -q -e '.[all,test]'
	touch $@

# The JupyterLab extension: labextension/ (TypeScript) built into colabmagic/labextension/ with jlpm
# from the committed yarn.lock (Node.js and the npm registry), then linked into the venv where
# JupyterLab finds it. Python-only targets (demo) never build it.
LAB_SOURCES := $(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null) \
               labextension/package.json labextension/yarn.lock labextension/tsconfig.json labextension/build_hook.py

$(VENV)/.lab-built: $(LAB_SOURCES) $(VENV)/.test-installed
	$(UNLINK_LAB)
	COLABMAGIC_BUILD_LAB=1 $(PIP) install -q --no-deps -e .
	rm -rf $(LAB_LINK) && mkdir -p $(dir $(LAB_LINK)) && ln -s $(CURDIR)/colabmagic/labextension $(LAB_LINK)
	touch $@

lab: $(VENV)/.lab-built

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.test-installed
	$(UNLINK_LAB)
	$(PIP) install -q -e '.[all,test,bench]'
	touch $@

# The main job: a real `%train` on the embedded digits dataset inside a real IPython kernel.
demo: $(VENV)/.train-installed
	$(PY) examples/demo.py

# pytest runs last; it exits non-zero (5) if it collects no test, so an empty run cannot pass.
test: $(VENV)/.test-installed $(VENV)/.lab-built
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm test
	$(PY) -m pytest -q --timeout=600

bench: $(VENV)/.bench-installed
	@for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
