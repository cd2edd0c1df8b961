# civgrid: two commands. `make run` serves the demo; `make test` runs every check on SQLite and PostgreSQL.
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
export CIVGRID_DATA_DIR ?= var
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint test-sqlite test-postgresql fuzz debs chromium postgresql wrk bench messages

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

run: $(BIN)/.installed debs
	mkdir -p $(CIVGRID_DATA_DIR)
	$(BIN)/civgrid db upgrade
	$(BIN)/civgrid demo load
	HOST=$(HOST) PORT=$(PORT) $(BIN)/civgrid serve

test: $(BIN)/.installed chromium postgresql
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgresql

lint: $(BIN)/.installed
	$(BIN)/ruff check civgrid tests bench scripts
	$(BIN)/ruff format --check civgrid tests bench scripts
	$(BIN)/mypy
	tmp=$$(mktemp -d) && CIVGRID_DATABASE_URL=sqlite:///$$tmp/check.sqlite3 $(BIN)/alembic upgrade head >/dev/null \
	  && CIVGRID_DATABASE_URL=sqlite:///$$tmp/check.sqlite3 $(BIN)/alembic check; rc=$$?; rm -rf $$tmp; exit $$rc

# Independent tests run in parallel (pytest-xdist), a test file per worker (--dist loadfile): each
# worker has its own session fixtures (database, live servers, demo site). PYTEST_WORKERS=0 runs
# them in one process.
PYTEST_WORKERS ?= 2
XDIST = $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS) --dist loadfile)

test-sqlite: $(BIN)/.installed
	CIVGRID_TEST_BACKEND=sqlite $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test-postgresql: $(BIN)/.installed postgresql
	CIVGRID_TEST_BACKEND=postgresql $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

# The long schemathesis run (the suite runs a bounded one, tests/security/test_fuzz.py): over 10,000
# generated requests on a demo database, anonymous and as the admin; prints the number of requests
# and of server errors (by operation), a one-line JSON summary last; fails on any 5xx or answer
# unlike /openapi.json. FUZZ_EXAMPLES per operation and identity (50), FUZZ_SEED (18).
fuzz: $(BIN)/.installed
	$(BIN)/python scripts/fuzz.py

# Debian packages. To serve: CJK fonts and Pango for WeasyPrint's PDFs. To test, as well: Chromium
# for the browser tests (Playwright cannot download browsers here) and poppler-utils (pdftotext).
RUN_DEBS := fonts-wqy-microhei fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
TEST_DEBS := $(RUN_DEBS) chromium poppler-utils
debs:
	@dpkg -s $(RUN_DEBS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(RUN_DEBS); }

chromium:
	@dpkg -s $(TEST_DEBS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q $(TEST_DEBS); }

postgresql:
	@pg_isready -q -h 127.0.0.1 -p 5432 || $(SUDO) pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -1) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL is not answering on 127.0.0.1:5432"; exit 1

# The HTTP load generator of bench/intake.py (a C program: it leaves the CPU to the servers).
wrk:
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q wrk; }

bench: $(BIN)/.installed postgresql wrk
	for b in bench/[!_]*.py; do $(BIN)/python $$b || exit 1; done

# Translations: extract _() and N_() from Python and Jinja (babel.cfg), update the zh_CN catalogue.
messages: $(BIN)/.installed
	tmp=$$(mktemp -d) && $(BIN)/pybabel -q extract -F babel.cfg -k N_ --no-location --sort-output \
	  --project civgrid -o $$tmp/messages.pot civgrid \
	  && $(BIN)/pybabel -q update -i $$tmp/messages.pot -d civgrid/locale -l zh_CN --no-fuzzy-matching \
	     --no-wrap --ignore-obsolete; rc=$$?; rm -rf $$tmp; exit $$rc
	@$(BIN)/python -c "from babel.messages.pofile import read_po; \
	  u = [m.id for m in read_po(open('civgrid/locale/zh_CN/LC_MESSAGES/messages.po', 'rb')) if m.id and not m.string]; \
	  print('untranslated:', len(u), *u, sep='\n  ')"
