"""Small synthetic data sets with planted effects, written in the formats of models/CONTRACT.md."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

GYM_PRODUCTS = [f"p{i:03d}" for i in range(6)]
LOCATIONS = ["home", "work", "gym"]
DEVICES = ["mobile", "desktop"]
INTENTS = {"browse": 1.0, "cart": 3.0, "buy": 5.0}


def write_edges(path: Path, customers: int = 200, products: int = 60, edges: int = 6000, seed: int = 7) -> Path:
    """Edges in the `hyperrec export` CSV format.

    Planted effects: at `location=gym` a customer picks one of six gym
    products 80% of the time; elsewhere half the picks are one of the
    customer's three favourites, the rest follow overall popularity over
    the non-gym products.
    """
    rng = np.random.default_rng(seed)
    others = [f"p{i:03d}" for i in range(len(GYM_PRODUCTS), products)]
    popularity = 1.0 / np.arange(1, len(others) + 1)
    popularity /= popularity.sum()
    favourites = [rng.choice(others, size=3, replace=False) for _ in range(customers)]
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    seconds = np.sort(rng.integers(0, 30 * 86400, size=edges))
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "sequence",
                "customer",
                "product",
                "intent",
                "time_bucket",
                "weight",
                "timestamp",
                "context",
                "device",
                "location",
            ]
        )
        for i, s in enumerate(seconds):
            c = int(rng.integers(customers))
            location = LOCATIONS[rng.choice(3, p=[0.5, 0.3, 0.2])]
            device = DEVICES[int(rng.integers(2))]
            if location == "gym" and rng.random() < 0.8:
                product = rng.choice(GYM_PRODUCTS)
            elif rng.random() < 0.5:
                product = rng.choice(favourites[c])
            else:
                product = rng.choice(others, p=popularity)
            intent = list(INTENTS)[int(rng.integers(len(INTENTS)))]
            at = start + timedelta(seconds=int(s))
            day = "weekend" if at.weekday() >= 5 else "weekday"
            part = ["night", "morning", "afternoon", "evening"][at.hour // 6]
            out.writerow(
                [
                    i + 1,
                    f"c{c:04d}",
                    product,
                    intent,
                    f"{day}/{part}",
                    INTENTS[intent],
                    at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    f"device={device}|location={location}",
                    device,
                    location,
                ]
            )
    return path


def write_features(path: Path, queries: int = 300, candidates: int = 20, seed: int = 3) -> Path:
    """Ranking rows where the grade depends on `signal` only; `noise` is random and `constant` is 1."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["query_id", "customer", "product", "label", "signal", "noise", "constant"])
        for q in range(queries):
            signal = rng.random(candidates)
            noisy = signal + rng.normal(scale=0.05, size=candidates)
            label = np.digitize(noisy, [0.7, 0.9])  # grades 0, 1, 2
            for j in range(candidates):
                out.writerow(
                    [f"q{q}", f"c{q % 50}", f"p{j}", int(label[j]), f"{signal[j]:.5f}", f"{rng.random():.5f}", "1"]
                )
    return path
