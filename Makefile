# Two commands on a fresh machine: `make demo` (the main job on the offline tiny model and bundled data)
# and `make test`. Both create .venv and install what they need on first use.
#
# On Linux, setup also installs the system tools the desktop tests and `guiagent run` use (Xvfb, xdotool, tmux,
# xclip, Tk) when they are missing: with apt-get as root, otherwise it prints what to install.
#
# torch is pinned because a loose requirement pulls gigabytes of CUDA wheels on a CPU machine. Override it
# for a GPU box, e.g. `make setup TORCH_SPEC="torch==2.13.0" TORCH_INDEX=https://download.pytorch.org/whl/cu128`.
PYTHON      ?= python3
VENV        ?= .venv
TORCH_SPEC  ?= torch==2.13.0
TORCH_INDEX ?=
EXTRAS      ?= dev
BIN         := $(VENV)/bin
# command:Debian package, for each system tool (tkinter is checked separately: python3-tk).
SYSTEM_TOOLS := Xvfb:xvfb xdotool:xdotool tmux:tmux xclip:xclip
STAMP       := $(VENV)/.installed-$(shell echo '$(TORCH_SPEC) $(EXTRAS)' | md5sum | cut -c1-8)

.PHONY: setup system-packages demo test lint format snapshot-update clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)" \
		$(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[$(EXTRAS)]"
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
# (--fresh: recomputed every time, although eval would resume from what is there).
demo: setup
	$(BIN)/guiagent eval bundled --model tiny --methods full,starkv,guikv,snapkv,pyramidkv,vlcache \
		--budgets 20,40 --max-new-tokens 16 --out demo-results --fresh

test: setup
	$(BIN)/ruff check guiagent tests
	$(BIN)/python -m pytest -q

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
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
