# Two commands for a fresh machine (Python 3.11+ and make): `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint unit-pg e2e bench mutation clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# pyCANON pins exact numpy/pandas versions it does not need; its checks run on ours
	$(PY) -m pip install --quiet --no-deps "pycanon>=1.3.6"
	touch $(STAMP)

install: $(STAMP)

## Serve the app on http://127.0.0.1:$${PORT:-8050}; builds the demo database on first start.
run: install
	$(PY) app.py

## Lint, then the whole suite on SQLite; when TEST_DATABASE_URL is set, on PostgreSQL too, the
## two passes side by side (one core each: the whole run takes the longer pass, not the sum).
test: install lint
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== SQLite and PostgreSQL ($$TEST_DATABASE_URL) side by side; the SQLite pass's output follows"; \
		log=$$(mktemp); \
		env -u TEST_DATABASE_URL -u DATABASE_URL $(PY) -m pytest > $$log 2>&1 & lite=$$!; \
		env -u DATABASE_URL $(PY) -m pytest; pg=$$?; \
		wait $$lite; sqlite=$$?; \
		echo "== SQLite pass"; cat $$log; rm -f $$log; \
		[ $$pg -eq 0 ] && [ $$sqlite -eq 0 ]; \
	else \
		env -u TEST_DATABASE_URL -u DATABASE_URL $(PY) -m pytest && \
		echo "TEST_DATABASE_URL not set: PostgreSQL pass skipped"; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Benchmarks (not part of the tests): make bench LEADS=1000000
bench: install
	$(PY) benchmarks/run.py --leads $${LEADS:-100000}

## Mutation testing of the trust-critical modules (not part of `make test`; docs/testing.md).
## Starts afresh each time, on SQLite; MUTATION_CHILDREN=1 on a busy machine.
MUTATION_CHILDREN ?= 2
mutation: install
	rm -rf mutants
	env -u TEST_DATABASE_URL -u DATABASE_URL TEST_SQLITE_SCHEMA_CACHE=$(CURDIR)/mutants/schema-cache \
		$(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN)
	$(PY) tests/mutation_score.py

clean:
	rm -rf $(VENV) instance .pytest_cache mutants
