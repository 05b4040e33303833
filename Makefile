# restore-drill: `make setup`, then `make drill SCENARIO=pvc-delete` or `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?=
CLUSTER ?= auto
SIZE ?=
KEEP ?= on-failure
JOBS ?= 1
OUT ?= runs
# built: make every image here from Go modules and Debian packages (no registry needed);
# pulled: use upstream images from their registries (skips the build).
IMAGES ?= built


.PHONY: setup system-tools docker images test test-all test-kind lint drill list doctor bench-data report-screenshot clean

setup: $(BIN)/restore-drill system-tools docker images

$(BIN)/restore-drill: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

# Host tools from the system's packages when missing: debootstrap (image builds), restic
# (verify-backups only).
system-tools:
	@scripts/install-system-tools.sh $(IMAGES)

# A Docker engine for the kind backend (Debian's, started here, where none answers).
docker:
	@scripts/docker-engine.sh

# The offline image set, built where missing and cached per version (restore-drill images list).
images: $(BIN)/restore-drill docker
	@if [ "$(IMAGES)" = built ]; then $(BIN)/restore-drill images build; fi

# The default suite: the harness's own tests (csi-sanity among them), then every scenario
# and every negative drill once on a real kind cluster, at a small size, three drills side
# by side (those that rebuild the cluster, reinstall VolSync or stop the store run alone).
# Heavier tests (large datasets) are marked slow: `make test-all` runs them.
test: setup
	$(BIN)/pytest -q -m "not slow" --durations=5 tests
	$(BIN)/pytest -q e2e --cluster kind --drill-size 256KiB --drill-jobs 3 --durations=0 --junitxml=runs/e2e-kind.xml

test-all: setup
	$(BIN)/pytest -q

# The Docker-gated tests (a real kind cluster with every pinned addon; several minutes).
test-kind: setup
	$(BIN)/pytest -q -m kind -rs

# actionlint is built like the other tools (restore-drill images build --only actionlint).
ACTIONLINT = $(shell $(BIN)/python -c 'from restore_drill.images.tools import tool; print(tool("actionlint"))')

lint: setup
	$(BIN)/restore-drill images build --only actionlint
	$(ACTIONLINT) .github/workflows/*.yml
	$(BIN)/ruff check restore_drill tests $(wildcard e2e)
	$(BIN)/ruff format --check restore_drill tests $(wildcard e2e)
	$(BIN)/mypy
	$(BIN)/lint-imports

drill: setup
	@if [ -z "$(SCENARIO)" ]; then $(BIN)/restore-drill list; echo "usage: make drill SCENARIO=<name>|all|faults|fleet [CLUSTER=auto|kind|existing] [SIZE=4MiB] [KEEP=never|on-failure|always] [JOBS=3]"; exit 2; fi
	$(BIN)/restore-drill run $(SCENARIO) --cluster $(CLUSTER) --out $(OUT) --keep $(KEEP) --jobs $(JOBS) $(if $(SIZE),--size $(SIZE),)

list: setup
	$(BIN)/restore-drill list

doctor: setup
	$(BIN)/restore-drill doctor

# Data agent throughput beside openssl/sha256sum on the same trees (prints ratios).
bench-data: setup
	$(BIN)/python benchmarks/bench_data.py $(if $(SIZE),--large-size $(SIZE),)

# A headless chromium's picture of the latest report: $(OUT)/report.png from
# $(OUT)/report.html, or from a sample report when no run wrote one.
report-screenshot: $(BIN)/restore-drill
	$(BIN)/python -m restore_drill.screenshot --out $(OUT)

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
