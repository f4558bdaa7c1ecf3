# Two commands do the whole set-up on a fresh machine:
#   make quickstart   creates .venv if missing, installs, runs the offline PAINT quickstart
#   make test         same set-up, runs the test suite
VENV ?= .venv
PYTHON ?= python3
# This machine's PyTorch wheels; override for another platform, e.g. TORCH_SPEC="torch torchvision".
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.paint-installed

.PHONY: install quickstart test test-fast test-min lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet $(TORCH_SPEC)
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

quickstart: $(STAMP)
	$(VENV)/bin/paint fit --config configs/quickstart.yaml

# One pytest worker per core (pytest-xdist); a file's tests stay together on one worker.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The declared dependency floors (pyproject.toml), in their own environment.
MIN_SPEC ?= lightning==2.6.0 pytorch-lightning==2.6.0 open_clip_torch==3.0.0 'jsonargparse[signatures]==4.39.0' torchmetrics==1.4.0
test-min:
	test -x .venv-min/bin/python || $(PYTHON) -m venv .venv-min
	.venv-min/bin/pip install --quiet $(TORCH_SPEC)
	.venv-min/bin/pip install --quiet -e '.[dev]' $(MIN_SPEC)
	.venv-min/bin/python -m pytest -m "not slow"

test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf lightning_logs .pytest_cache
