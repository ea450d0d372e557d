# Convene: `make run` serves the app on http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# The app reads PORT too: without SITE_URL, its links (emails, PDFs, QR codes) use this port.
export PORT
export FLASK_APP := wsgi.py

.PHONY: run test setup db demo lint worker tick translations clean

$(BIN)/activate:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Convene needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

setup: $(VENV)/.installed

db: setup
	$(BIN)/flask db upgrade

instance/.demo-loaded: | db
	$(BIN)/flask demo load
	@touch $@

demo: db
	$(BIN)/flask demo load

run: db instance/.demo-loaded
	@echo "Convene is starting on http://127.0.0.1:$(PORT) (demo logins: README.md)"
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

lint: setup
	$(BIN)/ruff check .

test: setup lint
	@.ci/ensure-browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: setup
	$(BIN)/flask jobs worker

tick: setup
	$(BIN)/flask jobs tick

# Extract every marked string; `pybabel init -l LOCALE` then starts a new language.
translations: setup
	mkdir -p app/translations
	$(BIN)/pybabel extract -F app/babel.cfg -k _l -o app/translations/messages.pot .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
