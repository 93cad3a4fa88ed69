# Set-up on a fresh Debian-like machine: `make demo` (main job) or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup test test-all demo bench bench-tune ljspeech-standin lint mutation clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install_system_deps.sh
	bash scripts/install_system_deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# One pytest worker per core (pytest-xdist), each test file on one worker so that module
# fixtures are built once, one thread per worker so the workers do not fight over the cores.
PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --dist loadfile

test: setup  ## fast CPU test suite (what CI runs)
	$(PYTEST)

test-all: setup  ## including the slow tests
	$(PYTEST) -m ''

demo: setup  ## offline mini recipe (13-20 min on 2 cores, by machine): corpus -> train -> synthesise -> evaluate -> listening test
	PATH=$(abspath $(BIN)):$$PATH bash egs/mini/run.sh

# The benchmark's tuning pass: the settings `make bench` tests, chosen on 100 held-out sentences
# (egs/mini_bench/tune.sh; hours on 2 cores, resumable; its choices go to egs/mini_bench/conf/chosen).
bench-tune: setup  ## choose every system's settings on the tune set (not the test set)
	PATH=$(abspath $(BIN)):$$PATH bash egs/mini_bench/tune.sh

bench: setup  ## CPU benchmark, test pass (131 min on 2 cores, fresh clone): five criteria at their tuned settings
	PATH=$(abspath $(BIN)):$$PATH bash egs/mini_bench/run.sh

# LJSpeech-1.1 stand-in: all 13 100 texts spoken by festival's slt voice into
# $(OUT)/LJSpeech-1.1 (about 3.6 GB; resumable), for `egs/ljspeech/run.sh --data_dir $(OUT)`.
OUT ?= egs/ljspeech/data/standin
JOBS ?= $(shell nproc)
ljspeech-standin: setup  ## full-size LJSpeech stand-in (OUT=..., JOBS=...; about 40 min with JOBS=1)
	$(BIN)/python -m data_prep.ljspeech_standin --out $(OUT) --jobs $(JOBS)

mutation: setup  ## mutation testing of the core with mutmut (~16 min on 2 cores; not in CI)
	test -x $(BIN)/mutmut || $(BIN)/pip install -q -e '.[mutation]'
	$(BIN)/python scripts/mutation.py $(GROUPS)

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) egs/*/exp egs/*/data egs/*/dump
