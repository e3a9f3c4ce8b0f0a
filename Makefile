# pixelflow: `make paper` (main job) and `make test` (test suite) set up
# everything they need on a fresh Debian/Ubuntu machine: a virtual
# environment with the right extras and, when run as root, Debian packages.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
SCALE  ?= smoke

# The shared data folder beside the checkout, when there is one.
ifneq ($(wildcard ../shared/data),)
export PIXELFLOW_DATA ?= $(abspath ../shared/data)
endif

DEBIAN_PACKAGES := dataset-fashion-mnist

.PHONY: all test paper bench-peer system-deps clean-venv

all: test

# Re-made whenever the dependency list changes.
$(VENV)/.stamp-test: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

# Debian packages the tests and notebooks read (Fashion-MNIST lives in one).
# Installed only when missing, and only where apt-get can be run.
system-deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "note: Debian packages$$missing are missing (run as root to install); tests that need them skip"; \
	  fi; \
	fi

test: $(VENV)/.stamp-test system-deps
	$(PY) -m pytest -q tests

# The paper workbook (notebooks -> results -> PDF) is built by the workbook
# issue; until then `make paper` runs the experiments that exist.
paper: $(VENV)/.stamp-test system-deps .venv-peer/.stamp
	$(PY) benchmarks/peer_mnist.py --peer-python .venv-peer/bin/python $(BENCH_ARGS_$(SCALE)) \
	  --out results/$(SCALE)/bench_peer_mnist.json

BENCH_ARGS_smoke := --n 2000 --repeats 1
BENCH_ARGS_paper := --n 24000 --repeats 5

# Side-by-side speed against pixelflow-rc 0.3.0, installed into a throwaway
# environment (both packages import as `pixelflow`, so they cannot share one).
.venv-peer/.stamp:
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/python -m pip install -q pixelflow-rc==0.3.0
	touch $@

bench-peer: $(VENV)/.stamp-test .venv-peer/.stamp
	$(PY) benchmarks/peer_mnist.py --peer-python .venv-peer/bin/python

clean-venv:
	rm -rf $(VENV) .venv-peer
