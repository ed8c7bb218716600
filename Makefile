# HeartGuard developer entry points. Every target bootstraps .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= $(if $(wildcard config.toml),config.toml,config.example.toml)

.PHONY: demo run test test-sqlite test-pg lint bench model messages clean

# Quiet: pip's and setuptools' output goes to .venv/install.log, shown only when it fails.
$(STAMP): pyproject.toml
	@echo "Installing HeartGuard into $(VENV) (a minute or two the first time) ..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@$(BIN)/python -m pip install --quiet -e '.[dev,train]' >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	@touch $(STAMP)
	@echo "Installed. Run ./heartguard from here, or put it on your PATH: export PATH=\"$(CURDIR)/$(BIN):\$$PATH\""

demo: $(STAMP)
	$(BIN)/heartguard --config $(CONFIG) demo

run: $(STAMP)
	$(BIN)/heartguard --config $(CONFIG) run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# bench/telegram_channel.py runs bench/reminders.py's planning (and sends through the whole Telegram
# stack), so reminders.py is not run twice; it still runs on its own. bench/district.py runs here at
# a tenth of a district (5,000 students, about a minute to build and two to measure, on SQLite and
# PostgreSQL); the full district takes many minutes to build on each database, so run it by hand:
# `.venv/bin/python bench/district.py [--db pg]`.
bench: $(STAMP)
	@for b in $(filter-out bench/reminders.py bench/pgtemp.py bench/district.py bench/report_district.py bench/verdicts.py,$(wildcard bench/*.py)); do echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@echo "== bench/district.py --scale 0.1 (SQLite, then PostgreSQL)"
	$(BIN)/python bench/district.py --scale 0.1 --budget 120
	$(BIN)/python bench/district.py --scale 0.1 --budget 120 --db pg

# Retrain the detector's learned model from the corpus (fixed seed: the same bytes every time).
model: $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[dev,train]' > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; exit 1; }
	$(BIN)/heartguard risk train

# The command line's messages: extract those marked with _() / N_() and merge them into
# bot/locale/{zh,en}.po; then translate the new entries (tests/bot/test_translation.py checks).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location --omit-header --sort-output -w 100 \
		-o bot/locale/heartguard.pot .
	for lang in zh en; do $(BIN)/pybabel update -i bot/locale/heartguard.pot -l $$lang \
		-o bot/locale/$$lang.po -w 100 --ignore-obsolete --no-fuzzy-matching; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
