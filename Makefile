# The commands of the README. Each sets up what it needs (scripts/setup.sh) first.
VENV ?= .venv

.PHONY: demo test lint setup bench

demo:
	bash scripts/setup.sh
	$(VENV)/bin/actrec demo --out runs/demo

test:
	bash scripts/setup.sh --test
	$(VENV)/bin/python -m pytest

# ruff's rules and mypy's settings live in pyproject.toml
lint:
	bash scripts/setup.sh --test
	$(VENV)/bin/ruff check actrec tests bench scripts
	$(VENV)/bin/ruff format --check actrec tests bench scripts
	$(VENV)/bin/mypy actrec

bench:
	bash scripts/setup.sh --test
	for script in bench/*.py; do $(VENV)/bin/python $$script || exit 1; done
