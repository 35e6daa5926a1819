"""Training the HGNN and query encoder on exported hyperedges, and writing a version.

    python -m hyperrec_models.train --edges edges.csv --out models/artifacts

How training avoids telling the model the answer:
- The last `holdout` share of edges in time is never trained on; recall@10
  and NDCG@10 of exact dot-product retrieval over all products are measured
  on it, with the customer's earlier edges (held-out ones included, as the
  live server would have them) as recent edges.
- The training edges are split into `folds`. A step takes its queries
  from one fold and propagates over the hypergraph of the other folds, so
  a query's own edge never shaped the embeddings that must predict it.
  The exported embeddings propagate over all training edges.
- The customer slot is masked at random and recent edges are dropped at
  random, so unknown customers and customers without history still get a
  useful embedding.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import artifacts
from .cli import add_config_flags, config_from_args
from .edges import Edges, RawEdges, Vocab, encode, read_csv
from .hypergraph import Propagation, propagation
from .metrics import single_target
from .model import CUSTOMER_SLOT, HGNN, QueryEncoder
from .queries import QueryBatch, build_batch, recent_index

log = logging.getLogger("hyperrec_models.train")


@dataclass
class Config:
    dim: int = 32
    layers: int = 2
    query_slots: int = 11
    recent_edges: int = 20
    recent_half_life_hours: float = 720.0
    holdout: float = 0.05
    folds: int = 5
    epochs: int = 10
    queries_per_epoch: int = 65536
    batch: int = 1024
    learning_rate: float = 0.01
    mask_customer: float = 0.3
    drop_all_recent: float = 0.2
    drop_recent_edge: float = 0.2
    seed: int = 0
    threads: int = 2


@dataclass
class Trained:
    config: Config
    vocab: Vocab
    hgnn: HGNN
    encoder: QueryEncoder
    final: np.ndarray  # [N, D] final-layer embeddings over all training edges
    data_digest: str
    edges: int
    train_edges: int
    heldout_edges: int
    seconds: float
    metrics: dict[str, float] = field(default_factory=dict)
    # A few held-out batches of real encoder inputs, for the export round trip.
    samples: list[tuple[np.ndarray, ...]] = field(default_factory=list)


class Data:
    """Everything derived once from the edges: ids, histories, fold graphs."""

    def __init__(self, raw: RawEdges, cfg: Config, rng: np.random.Generator):
        if not 0.0 <= cfg.holdout < 1.0:
            raise ValueError(f"holdout must be in [0, 1), got {cfg.holdout}")
        self.split = round(len(raw) * (1.0 - cfg.holdout))
        if self.split < 2:
            raise ValueError(f"{len(raw)} edges leave {self.split} for training; need at least 2")
        self.vocab = Vocab.from_edges(raw.take(np.arange(self.split)))
        self.edges: Edges = encode(raw, self.vocab)
        self.others = self.edges.others()
        _, group = np.unique(raw.customer, return_inverse=True)
        self.recent = recent_index(group, self.edges.hours, cfg.recent_edges)

        train = np.arange(self.split)
        self.full: Propagation = propagation(self.edges.take(train), self.vocab.size)
        folds = max(cfg.folds, 2)
        fold = rng.integers(0, folds, size=self.split)
        self.fold_queries = [train[fold == k] for k in range(folds)]
        self.fold_graphs = [propagation(self.edges.take(train[fold != k]), self.vocab.size) for k in range(folds)]
        self.heldout = np.arange(self.split, len(raw))

    def batch(self, query: np.ndarray, cfg: Config) -> QueryBatch:
        return build_batch(self.edges, self.others, self.recent, query, cfg.query_slots, cfg.recent_half_life_hours)


def _augment(batch: QueryBatch, cfg: Config, rng: np.random.Generator) -> QueryBatch:
    """Masks the customer slot and drops recent edges at random, as padding would look."""
    b, r = batch.recent_weight.shape
    slot_ids = batch.slot_ids.clone()
    slot_ids[torch.from_numpy(rng.random(b) < cfg.mask_customer), CUSTOMER_SLOT] = -1
    drop = (rng.random((b, r)) < cfg.drop_recent_edge) | (rng.random((b, 1)) < cfg.drop_all_recent)
    drop = torch.from_numpy(drop)
    members = batch.recent_members.masked_fill(drop.unsqueeze(-1), -1)
    weight = batch.recent_weight.masked_fill(drop, 0.0)
    return QueryBatch(slot_ids=slot_ids, recent_members=members, recent_weight=weight, target=batch.target)


def _products(x: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    start = vocab.offsets["product"]
    return F.normalize(x[start : start + vocab.count("product")], dim=1, eps=1e-12)


def _encode(encoder: QueryEncoder, batch: QueryBatch, x: torch.Tensor) -> torch.Tensor:
    return encoder(*batch.inputs(x))


def fit(raw: RawEdges, cfg: Config) -> Trained:
    """Trains on all but the newest `cfg.holdout` of `raw` and measures retrieval on the rest."""
    started = time.perf_counter()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(max(1, cfg.threads))
    rng = np.random.default_rng(cfg.seed)
    data = Data(raw, cfg, rng)
    vocab = data.vocab
    log.info(
        "data ready edges=%d train=%d heldout=%d vertices=%d seconds=%.1f",
        len(raw),
        data.split,
        len(data.heldout),
        vocab.size,
        time.perf_counter() - started,
    )

    hgnn = HGNN(vocab.size, cfg.dim, cfg.layers)
    encoder = QueryEncoder(cfg.dim, cfg.query_slots)
    log_scale = torch.nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
    params = [*hgnn.parameters(), *encoder.parameters(), log_scale]
    optimizer = torch.optim.Adam(params, lr=cfg.learning_rate)
    steps = max(1, cfg.queries_per_epoch // cfg.batch)
    product_offset = vocab.offsets["product"]
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs * steps)

    for epoch in range(cfg.epochs):
        hgnn.train()
        encoder.train()
        total = 0.0
        for step in range(steps):
            k = step % len(data.fold_graphs)
            pool = data.fold_queries[k]
            query = pool[rng.integers(0, len(pool), size=min(cfg.batch, len(pool)))]
            batch = _augment(data.batch(query, cfg), cfg, rng)
            x = hgnn(data.fold_graphs[k])
            q = _encode(encoder, batch, x)
            logits = log_scale.clamp(max=np.log(100.0)).exp() * (q @ _products(x, vocab).T)
            loss = F.cross_entropy(logits, batch.target - product_offset)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
        log.info("epoch %d loss=%.4f seconds=%.1f", epoch + 1, total / steps, time.perf_counter() - started)

    hgnn.eval()
    encoder.eval()
    with torch.no_grad():
        final = hgnn(data.full).detach()
    metrics, samples = evaluate(data, encoder, final, cfg)
    seconds = time.perf_counter() - started
    log.info("trained seconds=%.1f metrics=%s", seconds, json.dumps(metrics))
    return Trained(
        config=cfg,
        vocab=vocab,
        hgnn=hgnn,
        encoder=encoder,
        final=final.detach().numpy(),
        data_digest=raw.digest,
        edges=len(raw),
        train_edges=data.split,
        heldout_edges=len(data.heldout),
        seconds=seconds,
        metrics=metrics,
        samples=samples,
    )


def evaluate(data: Data, encoder: QueryEncoder, final: torch.Tensor, cfg: Config):
    """Recall@10 / NDCG@10 on the held-out edges, for the encoder and for overall popularity."""
    vocab = data.vocab
    products = _products(final, vocab)
    offset = vocab.offsets["product"]
    popular = np.bincount(data.edges.product[: data.split] - offset, minlength=vocab.count("product"))
    popular_scores = popular.astype(np.float64)[None, :]

    model_parts, unknown_parts, popular_parts, samples = [], [], [], []
    for start in range(0, len(data.heldout), 4096):
        query = data.heldout[start : start + 4096]
        batch = data.batch(query, cfg)
        target = np.where(batch.target.numpy() >= 0, batch.target.numpy() - offset, -1)
        with torch.no_grad():
            inputs = batch.inputs(final)
            scores = (encoder(*inputs) @ products.T).numpy()
            # The same queries as if the customer were new: history only through recent edges.
            unknown = (inputs[0] * 1.0, inputs[1].clone(), inputs[2], inputs[3])
            unknown[0][:, CUSTOMER_SLOT] = 0.0
            unknown[1][:, CUSTOMER_SLOT] = 0.0
            unknown_scores = (encoder(*unknown) @ products.T).numpy()
        if len(samples) < 2:
            samples.append(tuple(t[:256].numpy().astype(np.float32) for t in inputs))
        weight = len(query)
        model_parts.append((single_target(scores, target), weight))
        unknown_parts.append((single_target(unknown_scores, target), weight))
        popular_parts.append((single_target(np.repeat(popular_scores, len(query), 0), target), weight))

    def average(parts):
        total = sum(w for _, w in parts)
        return {key: sum(m[key] * w for m, w in parts) / total for key in parts[0][0]} if parts else {}

    metrics = {k: round(v, 5) for k, v in average(model_parts).items()}
    metrics.update({f"no_customer_{k}": round(v, 5) for k, v in average(unknown_parts).items()})
    metrics.update({f"popular_{k}": round(v, 5) for k, v in average(popular_parts).items()})
    metrics["queries"] = len(data.heldout)
    return metrics, samples


def write_version(trained: Trained, root: Path) -> Path:
    """Exports `trained` as a new version directory under `root` and returns its path."""
    cfg = trained.config
    created = artifacts.utc_now()
    version = artifacts.version_name(created, trained.data_digest)

    def fill(directory: Path) -> None:
        vertices = artifacts.write_vectors(directory, trained.vocab, trained.final)
        encoder_path = directory / artifacts.ENCODER_FILE
        artifacts.export_encoder(trained.encoder, encoder_path, cfg.recent_edges)
        samples = list(trained.samples)
        samples.append(artifacts.example_inputs(cfg.dim, cfg.query_slots, cfg.recent_edges, 64, seed=1))
        worst = artifacts.check_round_trip(trained.encoder, encoder_path, samples)
        log.info("encoder round trip max_abs_diff=%.2e", worst)
        manifest = {
            "format": artifacts.FORMAT,
            "version": version,
            "created_at": artifacts.rfc3339(created),
            "dim": cfg.dim,
            "encoder": {
                "file": artifacts.ENCODER_FILE,
                "query_slots": cfg.query_slots,
                "recent_edges": cfg.recent_edges,
                "recent_half_life_hours": cfg.recent_half_life_hours,
            },
            "vertices": vertices,
            "files": artifacts.file_hashes(directory),
            "training": {
                "data_digest": f"sha256:{trained.data_digest}",
                "edges": trained.edges,
                "train_edges": trained.train_edges,
                "heldout_edges": trained.heldout_edges,
                "epochs": cfg.epochs,
                "seconds": round(trained.seconds, 1),
                "hyperparameters": asdict(cfg),
            },
            "metrics": {"hgnn": trained.metrics},
        }
        artifacts.write_json_atomic(directory / artifacts.MANIFEST, manifest)

    return artifacts.publish(root, version, fill)


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Config]:
    parser = argparse.ArgumentParser(
        prog="python -m hyperrec_models.train",
        description="Train the HGNN and query encoder on `hyperrec export` edges and write a model version.",
    )
    parser.add_argument("--edges", required=True, type=Path, help="CSV written by `hyperrec export`")
    parser.add_argument("--out", required=True, type=Path, help="root directory of model versions")
    add_config_flags(parser, Config)
    args = parser.parse_args(argv)
    return args, config_from_args(Config, args)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args, cfg = parse_args(argv)
    try:
        raw = read_csv(args.edges)
        trained = fit(raw, cfg)
        path = write_version(trained, args.out)
    except (ValueError, OSError, artifacts.ArtifactError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"version_dir": str(path), "seconds": round(trained.seconds, 1), "metrics": trained.metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
