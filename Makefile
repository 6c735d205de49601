# The two commands of the README. Both set up what they need (scripts/setup.sh) first.
VENV ?= .venv

.PHONY: demo test setup bench

demo:
	bash scripts/setup.sh
	$(VENV)/bin/actrec demo --out runs/demo

test:
	bash scripts/setup.sh --test
	$(VENV)/bin/python -m pytest

bench:
	bash scripts/setup.sh --test
	for script in bench/*.py; do $(VENV)/bin/python $$script || exit 1; done
