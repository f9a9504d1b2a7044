# One place for set-up: a virtual environment in .venv with the CPU torch wheel and ptlab.
# On a CUDA machine, set TORCH to the build you want, e.g. `make test TORCH=torch==2.13.0`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
STUDY ?= switches

.PHONY: install test book sweep lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/python -m pytest

book: install
	$(BIN)/ptlab book

sweep: install
	$(BIN)/ptlab sweep $(STUDY) --design fractional --profile quick
	$(BIN)/ptlab sweep $(STUDY)-noise --design anchors --seeds 5 --profile quick
	$(BIN)/ptlab results $(STUDY)

lint: install
	$(BIN)/ruff check src tests bench && $(BIN)/ruff format --check src tests bench

bench: install
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/switch_cost.py
	$(BIN)/python bench/sweep_throughput.py
	$(BIN)/python bench/analysis_speed.py
	$(BIN)/python bench/attribution_cost.py

clean:
	rm -rf $(VENV) _build book/generated book/zh/*.ipynb book/en/*.ipynb
