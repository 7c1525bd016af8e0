# One entry point for people and CI alike. Every target sets itself up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit serve bench clean system-packages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "launchday needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) \
	  || { rm -rf $(VENV); scripts/system-packages python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/launchday demo

serve: $(STAMP)
	$(BIN)/launchday serve

# Side-by-side benchmarks (not tests): see bench/README.md. wrk is the load generator and
# PostgreSQL's binaries serve scenario (d); both are installed when missing, as for the tests.
bench: $(STAMP)
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES="wrk postgresql"
	$(BIN)/python bench/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

# What the tests drive besides Python: Debian's Chromium (browser tests, through
# Playwright with its binary as executable_path), curl (the demo's printed commands),
# PostgreSQL's server binaries (the tests start a throwaway cluster of their own, as the
# postgres user when run as root) and the production layout's parts for the cluster on
# one machine (Patroni, etcd, HAProxy, and iproute2 for its network namespaces;
# docs/cluster.md). Installed when missing and apt-get is at hand; without them those tests skip locally,
# and fail in CI, where a skip counts as a failure.
SYSTEM_PACKAGES := chromium curl postgresql patroni etcd-server haproxy iproute2

system-packages:
	@command -v apt-get >/dev/null && { [ "$$(id -u)" -eq 0 ] || command -v sudo >/dev/null; } \
	  && scripts/system-packages $(SYSTEM_PACKAGES) \
	  || echo "note: could not install $(SYSTEM_PACKAGES); the tests needing them will skip"

# The tests that time nothing run on every core; those that measure time or load, or race
# processes, run alone after them (the `serial` mark: tests/conftest.py).
unit: $(STAMP) system-packages
	$(BIN)/pytest -q -n auto -m "not serial"
	$(BIN)/pytest -q -m serial

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
