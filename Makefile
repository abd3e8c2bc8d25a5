# Two commands on a fresh machine: `make demo` (the main job on the offline tiny model and bundled data)
# and `make test`. Both create .venv and install what they need on first use.
#
# Installs are locked: requirements.lock pins every Python package the application and its tests use, torch
# included, and `make setup` installs exactly that (then guiagent itself, without dependencies). pyproject.toml
# keeps the honest ranges for people who install guiagent into their own environment. `make lock` refreshes the
# lock from the newest releases those ranges allow (do it when a canary run is green on a new upstream release).
#
# On Linux, setup also installs the system tools the desktop tests and `guiagent run` use (Xvfb, xdotool, tmux,
# xclip, Tk) when they are missing: with apt-get as root, otherwise it prints what to install.
#
# torch comes from the lock (a loose requirement pulls gigabytes of CUDA wheels on a CPU machine). Override it
# for a GPU box, e.g. `make setup TORCH_SPEC="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu128`:
# the lock's other pins are installed beside that torch unchanged.
PYTHON      ?= python3
VENV        ?= .venv
LOCK        := requirements.lock
TORCH_LOCK  := torch==2.13.0
TORCH_SPEC  ?= $(or $(shell grep -m1 '^torch==' $(LOCK) 2>/dev/null),$(TORCH_LOCK))
TORCH_INDEX ?=
EXTRAS      ?= dev
BIN         := $(VENV)/bin
PIP         := --quiet --disable-pip-version-check
# command:Debian package, for each system tool (tkinter is checked separately: python3-tk).
SYSTEM_TOOLS := Xvfb:xvfb xdotool:xdotool tmux:tmux xclip:xclip chromium:chromium
STAMP       := $(VENV)/.installed-$(shell echo '$(TORCH_SPEC) $(EXTRAS)' | md5sum | cut -c1-8)
# The canary worlds: fresh virtualenvs on the newest releases pyproject.toml allows, and on its oldest transformers.
CANARY_TESTS := tests/test_compat.py tests/compression tests/cli
TRANSFORMERS_FLOOR = $(shell sed -n 's/.*"transformers>=\([0-9.]*\),.*/\1/p' pyproject.toml)

.PHONY: setup system-packages demo test test-quick canary canary-world headless lock gpu-check wheelhouse lint format snapshot-update clean

$(STAMP): pyproject.toml $(LOCK) Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP) "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	grep -v '^torch==' $(LOCK) > $(VENV)/lock-without-torch.txt
	$(BIN)/python -m pip install $(PIP) --no-deps -r $(VENV)/lock-without-torch.txt
	$(BIN)/python -m pip install $(PIP) --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	rm -f $(VENV)/.installed-* && touch $@

setup: system-packages $(STAMP)

system-packages:
	@[ "$$(uname)" = Linux ] || exit 0; \
	missing=""; \
	for tool in $(SYSTEM_TOOLS); do \
		command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool#*:}"; \
	done; \
	$(PYTHON) -c "import tkinter" >/dev/null 2>&1 || missing="$$missing python3-tk"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing system packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq$$missing; \
	else \
		echo "Missing system packages for the desktop tests and guiagent run:$$missing. Install them, e.g." \
			"sudo apt-get install$$missing"; \
	fi

# The main job on the embedded default: the eval grid (methods x budgets) replayed on the bundled real
# AgentNetBench trajectory with the offline tiny model; table, CSV, JSON and plot land in demo-results/
# (--fresh: recomputed every time, although eval would resume from what is there). Then the starkv 20% cell's
# replay as one HTML page (both actions and the kept-patch heatmaps per step); the last line says where.
demo: setup
	$(BIN)/guiagent eval bundled --model tiny --methods full,starkv,guikv,snapkv,pyramidkv,vlcache \
		--budgets 20,40 --out demo-results --fresh
	$(BIN)/guiagent report demo-results/cells/starkv-20

test: setup
	$(BIN)/ruff check guiagent tests
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# The same suite without the subprocess-heavy tests (real X servers, tmux, torchrun ranks): a minute or two.
test-quick: setup
	$(BIN)/ruff check guiagent tests
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow"

# Canary: the session exactness, press, compat and CLI tests in fresh virtualenvs on (1) the newest releases
# pyproject.toml allows and (2) its oldest transformers. Red here after an upstream release, green on the lock:
# the release broke something; compat.py's named test says what.
canary: system-packages
	$(MAKE) --no-print-directory canary-world WORLD=newest SPEC=
	$(MAKE) --no-print-directory canary-world WORLD=floor SPEC="transformers==$(TRANSFORMERS_FLOOR)"

canary-world:
	rm -rf .venv-canary-$(WORLD) && $(PYTHON) -m venv .venv-canary-$(WORLD)
	echo "$(TORCH_SPEC)" > .venv-canary-$(WORLD)/torch-constraint.txt
	.venv-canary-$(WORLD)/bin/python -m pip install $(PIP) "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	.venv-canary-$(WORLD)/bin/python -m pip install $(PIP) --upgrade --upgrade-strategy eager \
		-c .venv-canary-$(WORLD)/torch-constraint.txt -e ".[dev,all]" $(SPEC)
	@.venv-canary-$(WORLD)/bin/python -c "import transformers, torch; print('canary world $(WORLD):', \
		'transformers', transformers.__version__, 'torch', torch.__version__)"
	.venv-canary-$(WORLD)/bin/python -m pytest -q -p no:cacheprovider -m "not slow" $(CANARY_TESTS)

# Headless: guiagent without its desktop, tui and plot extras (an evaluation node), from the lock's versions, in a
# fresh virtualenv: `guiagent eval` must run there, and each command that needs an extra must name it.
headless: system-packages
	rm -rf .venv-headless && $(PYTHON) -m venv .venv-headless
	.venv-headless/bin/python -m pip install $(PIP) "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	.venv-headless/bin/python -m pip install $(PIP) -c $(LOCK) -e . pytest
	GUIAGENT_HEADLESS_WORLD=1 .venv-headless/bin/python -m pytest -q -p no:cacheprovider tests/test_headless.py

# Refresh requirements.lock: resolve pyproject.toml's ranges (with its extras) in a fresh virtualenv, newest first.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	echo "$(TORCH_LOCK)" > .venv-lock/torch-constraint.txt
	.venv-lock/bin/python -m pip install $(PIP) "$(TORCH_LOCK)"
	.venv-lock/bin/python -m pip install $(PIP) --upgrade --upgrade-strategy eager -c .venv-lock/torch-constraint.txt ".[dev,all]"
	{ echo "# Exact versions of every package guiagent and its tests use, installed by 'make setup'."; \
	  echo "# Regenerate with 'make lock' (see the Makefile); torch is the CPU wheel, overridden by TORCH_SPEC."; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^guiagent' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' | LC_ALL=C sort -f; } > $(LOCK)
	rm -rf .venv-lock
	@echo "Wrote $(LOCK); run 'make test' and commit it."

# The GPU checks on an offline CUDA box whose Python already has a CUDA torch (GPU_PYTHON): a virtualenv that
# sees that torch, only the missing requirements installed from WHEELS (never torch), then exactness in bf16
# (sdpa; flash-attn where installed) and the full-depth 7B-shaped bench; report in gpu-check-report/.
GPU_PYTHON ?= python3
WHEELS     ?=
gpu-check:
	test -x .venv-gpu/bin/python || $(GPU_PYTHON) -m venv --system-site-packages .venv-gpu
	.venv-gpu/bin/python -m guiagent.tools.gpu_check $(if $(WHEELS),--wheels $(WHEELS)) --out gpu-check-report

# On a connected machine: every locked wheel but torch, to hand to `make gpu-check WHEELS=wheelhouse`.
wheelhouse: setup
	$(BIN)/python -m pip download $(PIP) --no-deps -r $(VENV)/lock-without-torch.txt -d wheelhouse

lint: setup
	$(BIN)/ruff check guiagent tests
	$(BIN)/ruff format --check guiagent tests

format: setup
	$(BIN)/ruff check --fix guiagent tests
	$(BIN)/ruff format guiagent tests

# Re-record the dashboard's snapshot SVGs (tests/ui/__snapshots__/). Look at the failing report
# (snapshot_report.html) first: only accept a snapshot that shows what the dashboard should look like.
snapshot-update: setup
	$(BIN)/python -m pytest tests/ui/test_snapshots.py --snapshot-update -q

clean:
	rm -rf $(VENV) .venv-canary-* .venv-headless .venv-lock .venv-gpu .pytest_cache .ruff_cache *.egg-info
