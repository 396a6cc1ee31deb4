# Each user-facing target creates .venv if missing and installs what it needs.
# torch is pinned to 2.13.0 (the CPU build); an unpinned torch pulls a multi-GB CUDA build.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q
TORCH  := torch==2.13.0
PYTEST := $(BIN)/python -m pytest

.PHONY: test test-slow test-gpu test-all demo bench bench-quick bench-ops ui install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) $(TORCH)
	$(PIP) -e '.[test]'
	touch $@

$(VENV)/.bench: pyproject.toml $(VENV)/.test
	$(PIP) -e '.[bench]'
	touch $@

$(VENV)/.demo: pyproject.toml $(VENV)/.test
	$(PIP) -e '.[eval]'
	touch $@

$(VENV)/.ui: pyproject.toml $(VENV)/.test
	$(PIP) -e '.[ui]'
	touch $@

install: $(VENV)/.test

## The default suite: CPU only, offline, under 15 minutes on 2 cores. It includes the
## browser test of the UI (gradio + playwright are installed here), which skips with the
## reason printed where Debian's chromium (/usr/bin/chromium) is not installed.
test: $(VENV)/.test $(VENV)/.ui
	$(PYTEST) -m "not slow" -n 2 -q

## Long checks (training runs, large images).
test-slow: $(VENV)/.test
	$(PYTEST) -m slow -q

## The whole suite with CuPy on a GPU machine.
test-gpu: $(VENV)/.test
	$(PIP) -e '.[gpu]'
	MINICNN_TEST_BACKEND=cupy $(PYTEST) -q

test-all: $(VENV)/.test
	$(PYTEST) -q

## The four algorithms on built-in sample images (a few minutes on 2 cores); writes
## out/demo/index.html and prints where it is. Exit code 1 if any algorithm failed (its
## section shows the error).
demo: $(VENV)/.demo
	$(BIN)/minicnn demo -o out/demo

bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks.run --full

bench-quick: $(VENV)/.bench
	$(BIN)/python -m benchmarks.run --quick

bench-ops: $(VENV)/.bench
	$(BIN)/python -m benchmarks.bench_ops

## The browser UI on http://127.0.0.1:7860 (HOST=0.0.0.0 / PORT=N to change).
HOST ?= 127.0.0.1
PORT ?= 7860
ui: $(VENV)/.ui
	$(BIN)/minicnn ui --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) out .pytest_cache .hypothesis
