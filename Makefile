# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv when missing.
# `make lab` opens the tutorials in JupyterLab (installing only the `lab` extra when .venv lacks it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_STAMP := $(VENV)/.installed-lab
LAB_ARGS ?=
export JAX_PLATFORMS := cpu
export PYTHONHASHSEED := 0

.PHONY: install demo lab test sync-check unit nbtest bench weights docs-proc clean

# Create .venv when missing, install the package (editable) with the extra $(1), register the kernel.
define venv_install
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(1)]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
endef

$(STAMP): pyproject.toml
	$(call venv_install,dev)
	@touch $(STAMP)

install: $(STAMP)

# The lab extra alone (JupyterLab, notebook, ipywidgets): enough to run the tutorials, much less than `.[dev]`.
# A .venv made by `make install` already has it, so pip only confirms that.
$(LAB_STAMP): pyproject.toml
	$(call venv_install,lab)
	@touch $(LAB_STAMP)

## make lab: open JupyterLab on nbs/tutorials with the project's .venv (extra options: make lab LAB_ARGS=--no-browser)
lab: $(LAB_STAMP)
	$(BIN)/python -m jupyter lab $(LAB_ARGS) nbs/tutorials

## make demo: run the quick-start tutorial end to end (no hardware) and write its report under out/
demo: install
	@mkdir -p out
	DYNAPSE_NB_OUT=$(CURDIR)/out $(BIN)/python -m jupyter nbconvert --to html --execute \
	    --ExecutePreprocessor.timeout=1200 nbs/tutorials/quick_start.ipynb --output-dir out --output quick_start
	@echo "report: out/quick_start.html; figures and summary: out/"
	@ls out

## make test: notebooks and package in sync, every notebook under nbval, every test under tests/
test: install sync-check docs-proc
	$(BIN)/python -m pytest -rs --nbval --nbval-current-env --nbval-sanitize-with .nbval-sanitize.cfg \
	    --nbval-cell-timeout=1200 nbs tests

sync-check: install
	$(BIN)/python tools/check_sync.py
	$(BIN)/python tools/readme_from_index.py --check

unit: install
	$(BIN)/python -m pytest tests

nbtest: install
	$(BIN)/python -m pytest --nbval --nbval-current-env --nbval-sanitize-with .nbval-sanitize.cfg nbs

bench: install
	$(BIN)/python benchmarks/bench_sim.py

## make weights: retrain the shipped tutorial weights (dynapse_nb/data/tutorial_weights.npz) from their seed
weights: install
	$(BIN)/python tools/make_weights.py

## make docs-proc: the docs pre-processing (nbs -> _proc) that nbdev-docs runs before quarto; works without quarto
## (nbdev says quarto is missing and that it cannot install it; the pre-processing itself must not fail)
docs-proc: install
	$(BIN)/nbdev-proc-nbs

clean:
	rm -rf out _proc _docs
