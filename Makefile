# jelou-sla: `make demo` (end to end against the bundled emulator), `make test`, `make dev` (UI).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export DAGSTER_HOME
EMULATOR_PORT ?= 8765

.PHONY: install test reliability demo dev emulator dbt-manifest clean bench screenshots

install: $(STAMP)

# Re-installs when pyproject.toml changes; uv resolves from PyPI in seconds, pip is the fallback.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade uv || true
	if [ -x $(VENV)/bin/uv ]; then $(VENV)/bin/uv pip install -q --python $(PY) -e ".[test]"; \
	else $(PY) -m pip install -q -e ".[test]"; fi
	$(MAKE) --no-print-directory dbt-manifest
	touch $(STAMP)

# dbt's manifest is what @dbt_assets reads; the project prepares it, nobody runs `dbt parse` by hand.
dbt-manifest:
	$(PY) -m jelou_assets.sla.prepare

# Tests spend much of their time waiting on subprocesses, servers and dbt: three workers on two cores.
# Tests sharing an expensive session-scoped run are kept on one worker by their xdist_group mark.
TEST_WORKERS ?= 3
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# The reliability matrix on its own (docs/RELIABILITY.md): runs it, then rewrites the doc's observed tables.
# The doc is rewritten even when a test fails (that is an observation too); the exit status is pytest's.
RELIABILITY_XML ?= data/reliability.xml
reliability: install
	status=0; $(PY) -m pytest -q -m reliability -p no:cacheprovider -o junit_family=xunit1 \
	  --junitxml=$(RELIABILITY_XML) $(PYTEST_ARGS) || status=$$?; \
	$(PY) -m tools.reliability_report $(RELIABILITY_XML) && exit $$status

demo: install
	$(PY) -m jelou_assets.demo

emulator: install
	$(PY) -m jelou_assets.emulator --port $(EMULATOR_PORT)

# The UI against the emulator: http://127.0.0.1:3000, schedules and sensors running (JELOU_AUTOMATION=stopped: off).
dev: install
	mkdir -p $(DAGSTER_HOME)
	$(PY) -m jelou_assets.emulator --port $(EMULATOR_PORT) & EMU=$$!; trap "kill $$EMU" EXIT; \
	JELOU_AUTOMATION=$${JELOU_AUTOMATION:-running} \
	JELOU_BASE_URL=$${JELOU_BASE_URL:-http://127.0.0.1:$(EMULATOR_PORT)} \
	JELOU_CLIENT_ID=$${JELOU_CLIENT_ID:-demo} JELOU_CLIENT_SECRET=$${JELOU_CLIENT_SECRET:-demo-secret} \
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/dg dev

# docs/screens/*.png: a real `dagster dev` and the weekly report shot in headless chromium (Debian's
# chromium, as in CI); materializes a week against the emulator in a temporary directory first (2-3 minutes).
screenshots: install
	$(PY) -m tools.screenshots

# Benchmarks (docs/BENCHMARKS.md): all five, side by side on this machine; rewrites the generated tables.
# Needs the `bench` extra (dlt, psutil, profilers) and PostgreSQL at BENCH_POSTGRES_URL; ~25 minutes.
bench: install
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[test,bench]" || $(PY) -m pip install -q -e ".[test,bench]"
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data/*.duckdb* dbt_project/target $(DAGSTER_HOME)
