# The task runner; CI calls `make test` through .ci/run.

CARGO ?= cargo

.PHONY: demo test bench lint

## Start the server on the embedded demo data (10k customers, 2k products,
## 500k interactions) on 127.0.0.1:50051.
demo:
	$(CARGO) run --release --locked -- serve --demo

## The whole test suite: formatting, lints, unit and integration tests.
test: lint
	$(CARGO) test --locked

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

## Criterion benchmarks (1M-hyperedge graph): apply throughput, memory per
## hyperedge, Recommend latency.
bench:
	$(CARGO) bench --locked
