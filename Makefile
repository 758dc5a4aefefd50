# Every target installs what it needs into .venv first, so each works on a fresh machine.
# What it installs is requirements.lock: every Python package, torch==2.13.0 (the CPU wheel on
# this kind of machine's disk) and the build backends included, at an exact version and hash.
# `make lock` regenerates it; `make test-latest` runs the suite on the newest releases instead.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LOCK   := requirements.lock
TORCH  ?= torch==2.13.0
# Every editable install first drops `make lab`'s link to the built extension: pip would write
# install.json through it into colabmagic/labextension/, and the next install would then add that
# file twice ("A second file is being added"). .lab-built depends on the install and links it again.
LAB_LINK   := $(VENV)/share/jupyter/labextensions/colabmagic
UNLINK_LAB := rm -rf $(LAB_LINK) colabmagic/labextension/install.json

# LATEST=1 (make test-latest): the newest release of everything pyproject.toml allows, build
# backends included, instead of the lock.
ifeq ($(LATEST),1)
EDITABLE := --no-deps
else
EDITABLE := --no-deps --no-build-isolation
endif

.PHONY: demo test test-latest test-lowest bench lab lock catalogue system gpu-check gpu-wheels clean

# The lock holds wheels for CPython 3.11 on Linux x86_64 (the machine CI runs on).
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || [ "$(LATEST)" = 1 ] || { \
	  echo "requirements.lock is for CPython 3.11; run with PYTHON=python3.11, or use make test-latest"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(LOCK) pyproject.toml | $(PY)
	$(UNLINK_LAB)
ifeq ($(LATEST),1)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(TORCH)
	$(PIP) install -q --upgrade --upgrade-strategy eager --group dev -e '.[all,test,bench]'
else
	$(PIP) install -q --require-hashes -r $(LOCK)
	$(PIP) install -q $(EDITABLE) -e .
endif
	$(PIP) check
	touch $@

# The JupyterLab extension: labextension/ (TypeScript) built into colabmagic/labextension/ with jlpm
# from the committed yarn.lock (Node.js and the npm registry), then linked into the venv where
# JupyterLab finds it. Python-only targets (demo) never build it.
LAB_SOURCES := $(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null) \
               labextension/package.json labextension/yarn.lock labextension/tsconfig.json labextension/build_hook.py

$(VENV)/.lab-built: $(LAB_SOURCES) $(VENV)/.installed
	$(UNLINK_LAB)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" COLABMAGIC_BUILD_LAB=1 $(PIP) install -q $(EDITABLE) -e .
	rm -rf $(LAB_LINK) && mkdir -p $(dir $(LAB_LINK)) && ln -s $(CURDIR)/colabmagic/labextension $(LAB_LINK)
	touch $@

lab: $(VENV)/.lab-built

# Debian's chromium (browser tests, through Playwright) and fuse3 (rclone mounts): installed with
# apt-get where we are root, else the exact command is printed once and those tests skip.
system:
	@bash .ci/system-packages

# The main job: a real `%train` on the embedded digits dataset inside a real IPython kernel.
demo: $(VENV)/.installed
	$(PY) examples/demo.py

# pytest runs last; it exits non-zero (5) if it collects no test, so an empty run cannot pass.
test: system $(VENV)/.installed $(VENV)/.lab-built
	cd labextension && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" jlpm test
	COLABMAGIC_LOCKED=$(if $(filter 1,$(LATEST)),0,1) $(PY) -m pytest -q --timeout=600

# The same suite on the newest releases, in a venv of its own: where drift is met on purpose.
# It first lists what differs from the lock: where a failure here, and not in `make test`, comes from.
test-latest:
	rm -rf .venv-latest
	$(MAKE) .venv-latest/.installed VENV=.venv-latest LATEST=1
	.venv-latest/bin/python .ci/drift.py
	$(MAKE) test VENV=.venv-latest LATEST=1

# The lowest torch pyproject.toml allows (torch>=2.4), on the CPU, with the rest of the lock: every
# test that runs torch (training, DDP, timing, runtime). PyPI has CUDA builds only of it (several GB): run it now and then,
# as test-latest, not in CI.
TORCH_LOWEST ?= torch==2.4.1
test-lowest:
	rm -rf .venv-lowest && $(PYTHON) -m venv .venv-lowest
	.venv-lowest/bin/python -m pip install -q --require-hashes -r $(LOCK)
	.venv-lowest/bin/python -m pip install -q '$(TORCH_LOWEST)'  # with what it needs (its CUDA libraries)
	.venv-lowest/bin/python -m pip install -q --no-deps --no-build-isolation -e .
	.venv-lowest/bin/python -c "import torch; print('torch', torch.__version__)"
	.venv-lowest/bin/python -m pytest -q -p no:cacheprovider --timeout=600 tests/test_train*.py tests/test_magic_train.py \
	  tests/test_timing.py tests/test_timeit_gpu.py tests/test_runtime.py

# Every benchmark; one that needs a missing system tool prints a one-line skip and the others run.
# Fresh processes read Python's bytecode cache as an installed package's do, even where the shell
# sets PYTHONDONTWRITEBYTECODE (compiling every module from source doubled %load_ext's figure).
bench: system $(VENV)/.installed $(VENV)/.lab-built
	@failed=0; for script in benchmarks/bench_*.py; do env -u PYTHONDONTWRITEBYTECODE $(PY) $$script || failed=1; done; exit $$failed

# Regenerate the lock from pyproject.toml (extras all, test, bench and the dev group) with the locked
# uv. Pins already in the lock are kept where they still fit; LOCK_FLAGS=--upgrade takes the newest.
lock: | $(PY)
	$(PIP) install -q "$$(grep -m1 '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(VENV)/bin/uv pip compile pyproject.toml --extra all --extra test --extra bench --group pyproject.toml:dev \
	  --python-version 3.11 --python-platform x86_64-manylinux_2_28 $(if $(wildcard /opt/wheels),--find-links /opt/wheels) \
	  --generate-hashes --custom-compile-command 'make lock' $(LOCK_FLAGS) -o $(LOCK)

# The message catalogue: extract the messages (Babel), merge the translators' parts in
# colabmagic/locale/*/LC_MESSAGES/parts/*.po, compile the .mo (Python) and .json (JupyterLab).
# `.ci/catalogue.py --missing F.po` lists what has no translation yet; tests/test_locale.py checks it.
catalogue: | $(PY)
	$(PY) .ci/catalogue.py

# Every check that needs an NVIDIA GPU, one summary (benchmarks/gpu_check.py). On the GPU machine
# it runs on that machine's own python3 (PyTorch with CUDA), with the wheels of `make gpu-wheels`;
# here it runs on .venv's and says "no NVIDIA GPU" for each part.
gpu-check:
	$(if $(wildcard $(PY)),$(PY),python3) benchmarks/gpu_check.py

# What the GPU machine's python3 (3.12, no registry) lacks for gpu-check: IPython, ipywidgets and the
# kernel client, at the lock's versions, into .whl/ (git-ignored) to be copied along. The GPU image
# already holds the rest of their needs (GPU_IMAGE_HAS), and torch, pandas, tensorboard, psutil, NVML.
GPU_IMAGE_HAS := packaging|psutil|pygments|python-dateutil|typing-extensions
gpu-wheels: $(VENV)/.installed
	rm -rf .whl && mkdir -p .whl
	printf '%s\n' ipython ipywidgets ipykernel jupyter_client | $(VENV)/bin/uv pip compile - -q --no-header \
	  --no-annotate --python-version 3.12 --python-platform x86_64-manylinux_2_28 -c $(LOCK) \
	  | grep -vE '^($(GPU_IMAGE_HAS))==' > .whl/requirements.txt
	$(PIP) download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	  -d .whl -r .whl/requirements.txt
	@du -sh .whl

clean:
	rm -rf $(VENV) .venv-latest .venv-lowest runs .pytest_cache
