# Every target installs what it needs into .venv first, so each works on a fresh machine.
# torch==2.13.0 goes in before anything that depends on torch: that pin takes the CPU wheel on
# this machine's disk; an unpinned torch would pull a multi-GB CUDA build.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
TORCH  ?= torch==2.13.0

.PHONY: demo test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.train-installed: pyproject.toml | $(PY)
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e '.[train]' ipykernel jupyter_client
	touch $@

$(VENV)/.test-installed: pyproject.toml $(VENV)/.train-installed
	$(PIP) install -q -e '.[train,test]'
	touch $@

$(VENV)/.bench-installed: pyproject.toml $(VENV)/.test-installed
	$(PIP) install -q -e '.[train,test,bench]'
	touch $@

# The main job: a real `%train` on the embedded digits dataset inside a real IPython kernel.
demo: $(VENV)/.train-installed
	$(PY) examples/demo.py

# pytest runs last; it exits non-zero (5) if it collects no test, so an empty run cannot pass.
test: $(VENV)/.test-installed
	$(PY) -m pytest -q --timeout=600

bench: $(VENV)/.bench-installed
	@for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) runs .pytest_cache
