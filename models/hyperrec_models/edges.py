"""Reading the hyperedges that `hyperrec export` writes, and numbering their vertices.

The CSV has one row per hyperedge: `sequence, customer, product, intent,
time_bucket, weight, timestamp, context, <one column per context key>`,
where `context` joins every `key=value` pair with `|` and the timestamp is
RFC 3339. Only `context` is read for context values: the per-key columns
repeat it.

Vertices are numbered per kind (customer, product, context, intent, time)
in sorted name order, and the kinds are laid end to end in that order to
give one global vertex index for the hypergraph.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

KINDS = ("customer", "product", "context", "intent", "time")
REQUIRED_COLUMNS = ("customer", "product", "intent", "time_bucket", "weight", "timestamp", "context")


class EdgesError(ValueError):
    """The edges file cannot be used for training; the message says why."""


@dataclass
class RawEdges:
    """Hyperedges with their vertices still as names, sorted by time."""

    customer: np.ndarray  # object [E]
    product: np.ndarray  # object [E]
    intent: np.ndarray  # object [E]
    time: np.ndarray  # object [E], e.g. "weekday/morning"
    contexts: list[tuple[str, ...]]  # `key=value` per edge
    weight: np.ndarray  # float32 [E]
    hours: np.ndarray  # float64 [E], hours since the Unix epoch
    digest: str  # sha256 hex of the file the edges came from

    def __len__(self) -> int:
        return len(self.weight)

    def take(self, index: np.ndarray) -> RawEdges:
        return RawEdges(
            customer=self.customer[index],
            product=self.product[index],
            intent=self.intent[index],
            time=self.time[index],
            contexts=[self.contexts[i] for i in index],
            weight=self.weight[index],
            hours=self.hours[index],
            digest=self.digest,
        )


@dataclass
class Vocab:
    """Vertex names per kind, and the offset of each kind in the global index."""

    names: dict[str, list[str]]
    ids: dict[str, dict[str, int]] = field(init=False)
    offsets: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.ids = {k: {n: i for i, n in enumerate(v)} for k, v in self.names.items()}
        self.offsets = {}
        total = 0
        for kind in KINDS:
            self.offsets[kind] = total
            total += len(self.names[kind])
        self.size = total

    def count(self, kind: str) -> int:
        return len(self.names[kind])

    @classmethod
    def from_edges(cls, raw: RawEdges) -> Vocab:
        contexts = sorted({c for cs in raw.contexts for c in cs})
        return cls(
            names={
                "customer": sorted(set(raw.customer.tolist())),
                "product": sorted(set(raw.product.tolist())),
                "context": contexts,
                "intent": sorted(set(raw.intent.tolist())),
                "time": sorted(set(raw.time.tolist())),
            }
        )


@dataclass
class Edges:
    """Hyperedges with global vertex ids; -1 marks a vertex the vocab lacks."""

    customer: np.ndarray  # int64 [E]
    product: np.ndarray  # int64 [E]
    intent: np.ndarray  # int64 [E]
    time: np.ndarray  # int64 [E]
    contexts: np.ndarray  # int64 [E, C], -1 padded
    weight: np.ndarray  # float32 [E]
    hours: np.ndarray  # float64 [E]

    def __len__(self) -> int:
        return len(self.weight)

    def others(self) -> np.ndarray:
        """Every vertex of each edge except the customer: [E, 3 + C], -1 padded."""
        return np.concatenate([self.product[:, None], self.intent[:, None], self.time[:, None], self.contexts], axis=1)

    def take(self, index: np.ndarray) -> Edges:
        return Edges(
            customer=self.customer[index],
            product=self.product[index],
            intent=self.intent[index],
            time=self.time[index],
            contexts=self.contexts[index],
            weight=self.weight[index],
            hours=self.hours[index],
        )


def file_digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def _hours(stamp: str, line: int) -> float:
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() / 3600.0
    except ValueError as e:
        raise EdgesError(f"line {line}: timestamp {stamp!r} is not RFC 3339") from e


def read_csv(path: str | Path) -> RawEdges:
    """Reads an export CSV; the edges come back sorted by time (stable in file order)."""
    path = Path(path)
    customers, products, intents, times, contexts = [], [], [], [], []
    weights, hours = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise EdgesError(f"{path} is empty: expected the header of `hyperrec export`")
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise EdgesError(f"{path} lacks columns {missing}: is it written by `hyperrec export`?")
        col = {name: header.index(name) for name in REQUIRED_COLUMNS}
        for line, row in enumerate(reader, start=2):
            if len(row) < len(header):
                raise EdgesError(f"line {line}: {len(row)} fields, header has {len(header)}")
            customers.append(row[col["customer"]])
            products.append(row[col["product"]])
            intents.append(row[col["intent"]])
            times.append(row[col["time_bucket"]])
            joined = row[col["context"]]
            contexts.append(tuple(joined.split("|")) if joined else ())
            try:
                weights.append(float(row[col["weight"]]))
            except ValueError as e:
                raise EdgesError(f"line {line}: weight {row[col['weight']]!r} is not a number") from e
            hours.append(_hours(row[col["timestamp"]], line))
    if not weights:
        raise EdgesError(f"{path} has a header but no hyperedges")
    raw = RawEdges(
        customer=np.array(customers, dtype=object),
        product=np.array(products, dtype=object),
        intent=np.array(intents, dtype=object),
        time=np.array(times, dtype=object),
        contexts=contexts,
        weight=np.array(weights, dtype=np.float32),
        hours=np.array(hours, dtype=np.float64),
        digest=file_digest(path),
    )
    order = np.argsort(raw.hours, kind="stable")
    return raw.take(order)


def encode(raw: RawEdges, vocab: Vocab) -> Edges:
    """Global vertex ids for every edge; known context values first in each row."""

    def lookup(kind: str, names: np.ndarray) -> np.ndarray:
        ids, offset = vocab.ids[kind], vocab.offsets[kind]
        return np.array([ids[n] + offset if n in ids else -1 for n in names], dtype=np.int64)

    width = max((len(c) for c in raw.contexts), default=0)
    ctx = np.full((len(raw), width), -1, dtype=np.int64)
    ids, offset = vocab.ids["context"], vocab.offsets["context"]
    for e, values in enumerate(raw.contexts):
        known = [ids[v] + offset for v in values if v in ids]
        ctx[e, : len(known)] = known
    return Edges(
        customer=lookup("customer", raw.customer),
        product=lookup("product", raw.product),
        intent=lookup("intent", raw.intent),
        time=lookup("time", raw.time),
        contexts=ctx,
        weight=raw.weight.copy(),
        hours=raw.hours.copy(),
    )
