# One place for set-up: a virtual environment in .venv with the CPU torch wheel and ptlab.
# On a CUDA machine, set TORCH to the build you want, e.g. `make test TORCH=torch==2.13.0`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH ?= torch==2.13.0
STUDY ?= switches

.PHONY: install test book site sweep lint bench clean

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

# A self-contained static site: works from disk (file://) and on any static host; math is
# rendered by the MathJax copy in _static, and each chapter links its results tables (CSV).
site: book
	touch _build/html/.nojekyll
	tar -czf _build/ptlab-site.tar.gz -C _build html
	@echo "site: _build/html (open index.html) and the archive _build/ptlab-site.tar.gz"

sweep: install
	$(BIN)/ptlab sweep $(STUDY) --design fractional --profile quick
	$(BIN)/ptlab sweep $(STUDY)-noise --design anchors --seeds 5 --profile quick
	$(BIN)/ptlab results $(STUDY)

lint: install
	$(BIN)/ruff check src tests bench notebooks && $(BIN)/ruff format --check src tests bench notebooks

# train_throughput: ptlab vs HF Llama (1 thread and 2 x 1 thread); chapter_workloads (the
# slowest, ~30 min on 2 cores): the chapters' training before/after, here against the eager
# fallback (README: against the commit before the fused kernels, with --before SRC)
bench: install
	$(BIN)/python bench/train_throughput.py
	$(BIN)/python bench/switch_cost.py
	$(BIN)/python bench/sweep_throughput.py
	$(BIN)/python bench/analysis_speed.py
	$(BIN)/python bench/attribution_cost.py
	$(BIN)/python bench/residual_cost.py
	$(BIN)/python bench/chapter_workloads.py

clean:
	rm -rf $(VENV) _build book/generated book/zh/*.ipynb book/en/*.ipynb
