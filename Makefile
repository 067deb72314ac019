# The compendium's commands. `make run` and `make test` each set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
KERNEL := integrating
UV_VERSION := 0.13.8
SETUP  := $(VENV)/.setup-done
ARGS   ?=

.PHONY: help setup run verify paper power figures test test-fast notebooks lab teaching bench clean system-deps cluster-test

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

# Virtual environment with the locked dependencies, the package and a named Jupyter kernel.
# --compile-bytecode: imports stay fast where PYTHONDONTWRITEBYTECODE is set.
# --no-deps: the lock is the complete set. It leaves out rfc3987-syntax (and lark), an optional
# IRI checker of jsonschema that costs ~0.9 s at every import of papermill, nbformat or jsonschema.
$(SETUP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (integrating)" >/dev/null
	touch $@

setup: $(SETUP)  ## create .venv with the pinned dependencies and the Jupyter kernel

# The run's console log is short (a line per step, then a summary); Snakemake's full output is in
# reports/logs/run.log (src/integrating/runlog.py).
SNAKEMAKE = $(BIN)/python -m integrating.runlog

run: $(SETUP)  ## run the whole study on the bundled data (ARGS="--config key=value" to override)
	@$(SNAKEMAKE) --cores all $(ARGS)

# Snakemake keeps only the last --config list, so fail_on_claims joins the one in ARGS, if any.
VERIFY_ARGS = $(if $(findstring --config,$(ARGS)),$(subst --config,--config fail_on_claims=True,$(ARGS)),$(ARGS) --config fail_on_claims=True)

verify: $(SETUP)  ## run the study and fail, naming them, when published numbers are not reproduced
	@$(SNAKEMAKE) --cores all $(VERIFY_ARGS)

paper: $(SETUP)  ## run the study, then write paper/manuscript.docx, .pdf, .html and Tables 1-3 (paper/README.md)
	@$(SNAKEMAKE) --cores all paper $(ARGS)

power: $(SETUP)  ## the power and design simulation (sharded; see docs/robustness-and-power.md)
	$(BIN)/snakemake --cores all power $(ARGS)

figures: $(SETUP)  ## the study, then the paper's numbered figures in reports/figures_pack (ARGS="--config figure_pack_format=tiff")
	$(BIN)/snakemake --cores all figure_pack $(ARGS)

bench: $(SETUP)  ## measure the pipeline and the analyses at 16, 160 and 1,600 clinics (benchmarks/results.json)
	$(BIN)/python benchmarks/run.py $(ARGS)

# Not part of `make test`: it installs Debian packages and starts daemons (tests/cluster/run.sh).
cluster-test: $(SETUP)  ## the power workflow through the SLURM profile on a throw-away single-node cluster (root or sudo)
	bash tests/cluster/run.sh

system-deps:  ## Debian packages the browser tests need (chromium); run as root or with sudo
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

test: $(SETUP) system-deps  ## set up and run every test tier (unit, notebook, pipeline, browser)
	$(BIN)/python -m pytest

test-fast: $(SETUP)  ## unit tests only (no notebook, pipeline, browser or slow tests)
	$(BIN)/python -m pytest -m "not notebook and not pipeline and not browser and not slow"

notebooks: $(SETUP)  ## bring each notebook and its paired text file (notebooks/**/*.py) into step
	$(BIN)/jupytext --sync $$(find notebooks -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort)

# LAB_DIR=reports/teaching/student opens the course's student pack instead.
LAB_DIR ?= notebooks

lab: $(SETUP)  ## JupyterLab on notebooks/ (LAB_DIR=...) with the project's kernel; ARGS="--no-browser --port=8899" passed on
	@[ -d reports/teaching/student ] || $(BIN)/integrating teaching-packs --out reports/teaching --student-only
	$(BIN)/jupyter lab --notebook-dir=$(LAB_DIR) $$([ "$$(id -u)" = 0 ] && echo --allow-root) $(ARGS)

teaching: $(SETUP)  ## the course's student pack and teacher pack in reports/teaching (docs/teaching.md)
	$(BIN)/integrating teaching-packs --out reports/teaching

clean:  ## remove everything the run generated (keeps .venv)
	find data/derived figures paper -type f ! -name README.md ! -name .gitignore -delete
	rm -rf reports/notebooks reports/provenance reports/logs reports/site reports/index.html reports/teaching reports/figures_pack .snakemake
