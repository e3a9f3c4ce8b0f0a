# pixelflow: `make paper` (main job) and `make test` (test suite) set up
# everything they need on a fresh Debian/Ubuntu machine: a virtual
# environment with the right extras and, when run as root, Debian packages.
#
#   make paper [SCALE=smoke|paper] [BACKEND=cpu] [JOBS=1]   stale notebooks -> results -> tables -> PDF
#   make paper-status                               which notebooks are fresh, stale, draft or missing, and why
#   make paper-pdf                                  the PDF from the results as they are (runs no notebook)
#   make test                                      unit tests + nbval over the notebooks
#   make notebooks-refresh                          re-store the notebooks' smoke outputs
#   make bench-peer                                 speed vs pixelflow-rc (results/bench_peer_mnist.json)
#   make bench-peer-accuracy                        pixelflow-rc's accuracy on our MNIST split (results/peer_accuracy_mnist.json)
#   make bench                                      backend suite + Life beside CAX (results/bench_suite.json)
#   make check-paper                                recompute a few committed paper-scale numbers, compare at printed precision
#   make site [SITE_SCALE=paper]                    the website: the article and every executed notebook (_site/<scale>)
#   make site-test [SITE_SCALE=paper]               build it, open every page in headless Chromium, screenshots
#   make lock-update                                re-pin requirements-lock.txt from pyproject.toml's extras
#   make gpu-check                                  GPU tests, 70k MNIST timing, backend suite on an NVIDIA GPU (results/gpu/)

PYTHON  ?= python3
# The exact versions installed (torch included): pyproject.toml says what pixelflow supports, the lock
# what the paper was built and tested with. Extra pip options for that install, e.g. the CPU-only torch
# index: PIP_ARGS="--extra-index-url https://download.pytorch.org/whl/cpu".
LOCK    ?= requirements-lock.txt
PIP_ARGS ?=
EXTRAS  := test,paper,nca,timeseries,dask,baselines,site
VENV    ?= .venv
PY      := $(VENV)/bin/python
SCALE   ?= smoke
BACKEND ?= cpu
# Notebooks run side by side by `make paper` (each in its own kernel; one that
# reads another's results waits for it).
JOBS    ?= 1

# The shared data folder beside the checkout, when there is one.
ifneq ($(wildcard ../shared/data),)
export PIXELFLOW_DATA ?= $(abspath ../shared/data)
endif

DEBIAN_TEST  := dataset-fashion-mnist libegl1 libegl-mesa0 libgl1-mesa-dri chromium chromium-driver libjs-mathjax
DEBIAN_PAPER := lmodern latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
PDF       := paper/pixelflow.pdf

.PHONY: all lock-update site site-test test paper paper-pdf paper-status check-paper notebooks-refresh bench-peer bench-peer-accuracy bench gpu-check system-deps-test system-deps-paper clean-paper clean-venv

all: test

# One environment for tests and notebooks, from the lock; re-made when the lock or the dependency list
# changes. `pip check` fails if the lock misses something pyproject.toml asks for.
$(VENV)/.stamp: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PIP_ARGS) -r $(LOCK)
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m pip check
	touch $@

# Move the lock forward: resolve pyproject.toml's extras afresh in a scratch environment and pin what was
# installed. Run `make test` and the paper afterwards.
lock-update:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install -q --upgrade pip
	.venv-lock/bin/python -m pip install -q $(PIP_ARGS) -e ".[$(EXTRAS)]"
	{ sed -n '/^#/p' $(LOCK); .venv-lock/bin/python -m pip freeze --exclude-editable \
	  | sed -E 's/^(torch==[^+]+)\+.*/\1/'; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock

# Debian packages, installed only when missing and only where apt-get can run.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "note: Debian packages$$missing are missing (run as root to install them)"; \
	  fi; \
	fi
endef

system-deps-test:
	$(call apt_install,$(DEBIAN_TEST))

system-deps-paper:
	$(call apt_install,$(DEBIAN_PAPER))

# Notebooks are re-executed by nbval into a throwaway output root, so the
# working tree (results/, figures/) is left as it was.
test: $(VENV)/.stamp system-deps-test
	$(PY) -m pytest -q tests
	PIXELFLOW_OUTPUT=$$(mktemp -d) $(PY) -m pytest -q -p no:cacheprovider --nbval-lax \
	  --nbval-sanitize-with notebooks/nbval_sanitize.cfg notebooks

# ---------------------------------------------------------------- the website

# The article and the notebooks as they were executed for the paper (nothing is re-executed); with the
# PDF when `make paper-pdf` has built it. site-test also fails on any console error, broken link or
# missing image, and leaves a screenshot of every page in _site/<scale>-screenshots/.
SITE_SCALE ?= paper

site: $(VENV)/.stamp system-deps-test
	$(PY) -m pixelflow.workbook.site --scale $(SITE_SCALE) --out _site/$(SITE_SCALE)

site-test: $(VENV)/.stamp system-deps-test
	$(PY) -m pixelflow.workbook.site --scale $(SITE_SCALE) --out _site/$(SITE_SCALE) --check \
	  --screenshots _site/$(SITE_SCALE)-screenshots

# ---------------------------------------------------------------- the paper

# A notebook reruns only when a hash it recorded in its results file changes:
# its code cells, the package source files it loaded, the results files it read,
# its data, or its parameters (pixelflow/workbook/dependencies.py). With the
# committed paper-scale results, `make paper SCALE=paper` in a fresh clone runs
# no notebook; `make paper-status` says which would run and why.
paper: $(VENV)/.stamp system-deps-test system-deps-paper
	$(PY) -m pixelflow.workbook.build run --scale $(SCALE) --backend $(BACKEND) --jobs $(JOBS)
	$(MAKE) --no-print-directory paper-pdf

# The PDF from the results as they are, running nothing; a stale, draft or
# missing result puts a DRAFT mark and the list of what is not current in it.
# Tables are written beside the old ones and swapped in only when every
# results file was read.
paper-pdf: $(VENV)/.stamp system-deps-paper
	rm -rf paper/generated.new
	$(PY) -m pixelflow.workbook.latex results/$(SCALE) paper/generated.new --figures ../figures/$(SCALE) \
	  --backend $(BACKEND)
	rm -rf paper/generated && mv paper/generated.new paper/generated
	cd paper && latexmk -pdf -interaction=nonstopmode -halt-on-error -quiet pixelflow.tex
	cp $(PDF) paper/pixelflow-$(SCALE).pdf
	@echo "built $(PDF) (copy: paper/pixelflow-$(SCALE).pdf) from the $(SCALE) results"

paper-status: $(VENV)/.stamp
	$(PY) -m pixelflow.workbook.build status --scale $(SCALE) --backend $(BACKEND)

# Recompute a few committed paper-scale numbers (about 4 min on 2 cores) and compare them at printed precision;
# writes nothing into the checkout. ONLY="eikonal quickstart_synthetic" runs some of them.
check-paper: $(VENV)/.stamp system-deps-test
	$(PY) -m pixelflow.workbook.check_paper $(if $(ONLY),--only $(ONLY))

notebooks-refresh: $(VENV)/.stamp
	$(PY) -m pixelflow.workbook.notebooks refresh $(NOTEBOOKS)

clean-paper:
	rm -rf paper/generated paper/pixelflow-smoke.pdf
	cd paper && latexmk -C -quiet pixelflow.tex 2>/dev/null || true

# ---------------------------------------------------------------- benchmarks

# Side-by-side speed against pixelflow-rc 0.3.0, installed into a throwaway
# environment (both packages import as `pixelflow`, so they cannot share one).
.venv-peer/.stamp:
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/python -m pip install -q pixelflow-rc==0.3.0
	touch $@

bench-peer: $(VENV)/.stamp .venv-peer/.stamp
	$(PY) benchmarks/peer_mnist.py --peer-python .venv-peer/bin/python

# pixelflow-rc's own pipeline and ours on our MNIST split, features x readout (results/peer_accuracy_mnist.json).
bench-peer-accuracy: $(VENV)/.stamp .venv-peer/.stamp
	$(PY) benchmarks/peer_accuracy.py

# The backend suite, with CAX's Game of Life timed beside ours in CAX's own
# environment (JAX, CPU build from PyPI).
.venv-cax/.stamp:
	$(PYTHON) -m venv .venv-cax
	.venv-cax/bin/python -m pip install -q cax==0.3.3
	touch $@

bench: $(VENV)/.stamp .venv-cax/.stamp
	$(PY) -m pixelflow.workbook.bench --cax-python .venv-cax/bin/python

# Within 8 minutes on one H100/H200, no internet needed; without a usable NVIDIA
# GPU it says why and exits 0. No Debian packages: without internet apt-get would stop it.
gpu-check: $(VENV)/.stamp
	$(PY) -m pixelflow.workbook.gpu_check

clean-venv:
	rm -rf $(VENV) .venv-peer .venv-cax

