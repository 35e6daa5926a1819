"""Training the LightGBM lambdarank ranker and adding it to a model version.

    python -m hyperrec_models.ranker --features features.csv --version-dir models/artifacts/<version>

The features CSV (models/CONTRACT.md) has `query_id, customer, product,
label, <feature>...`, one row per (query, candidate), the rows of one query
contiguous, `label` the relevance grade. A share of the queries is held out
to measure NDCG@10. A feature that is constant over the training rows
carries no information and is dropped from the model, so the server never
has to feed it.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnxruntime as ort

from . import artifacts
from .cli import add_config_flags, config_from_args
from .metrics import mean_ndcg

log = logging.getLogger("hyperrec_models.ranker")
KEY_COLUMNS = ("query_id", "customer", "product", "label")


class FeaturesError(ValueError):
    """The features file cannot be used; the message says why."""


@dataclass
class FeatureTable:
    query_id: list[str]
    label: np.ndarray  # int32 [N]
    names: list[str]  # feature names in file order
    x: np.ndarray  # float32 [N, F]
    groups: list[np.ndarray]  # row indices of each query, in file order


def read_features(path: str | Path) -> FeatureTable:
    path = Path(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header[:4]) != KEY_COLUMNS:
            raise FeaturesError(f"{path}: header must start with {', '.join(KEY_COLUMNS)}, got {header}")
        names = header[4:]
        if not names:
            raise FeaturesError(f"{path}: no feature columns after {', '.join(KEY_COLUMNS)}")
        if len(set(names)) != len(names):
            raise FeaturesError(f"{path}: a feature column appears twice in {names}")
        qids, labels, rows = [], [], []
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise FeaturesError(f"{path} line {line}: {len(row)} fields, header has {len(header)}")
            try:
                label = float(row[3])
                values = [float(v) for v in row[4:]]
            except ValueError as e:
                raise FeaturesError(f"{path} line {line}: {e}") from e
            if label < 0 or label != int(label):
                raise FeaturesError(f"{path} line {line}: label {row[3]!r} is not a grade 0, 1, 2…")
            qids.append(row[0])
            labels.append(int(label))
            rows.append(values)
    if not rows:
        raise FeaturesError(f"{path}: no rows")
    x = np.asarray(rows, dtype=np.float32)
    if not np.isfinite(x).all():
        bad = int(np.argwhere(~np.isfinite(x))[0][0])
        raise FeaturesError(f"{path} line {bad + 2}: a feature is NaN or infinite")
    return FeatureTable(
        query_id=qids, label=np.asarray(labels, dtype=np.int32), names=names, x=x, groups=_groups(qids, path)
    )


def _groups(qids: list[str], path: Path) -> list[np.ndarray]:
    groups, seen, start = [], set(), 0
    for i in range(1, len(qids) + 1):
        if i == len(qids) or qids[i] != qids[start]:
            if qids[start] in seen:
                raise FeaturesError(f"{path}: rows of query {qids[start]!r} are not contiguous")
            seen.add(qids[start])
            groups.append(np.arange(start, i))
            start = i
    return groups


@dataclass
class RankerConfig:
    """Small trees: a query has about one chosen product among hundreds of
    candidates, so deep trees fit noise (on the demo rows 31 leaves scored
    0.189 NDCG@10 held out, 7 leaves with 200 rows per leaf 0.220)."""

    holdout: float = 0.2
    rounds: int = 100
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_data_in_leaf: int = 200
    seed: int = 0
    threads: int = 2


@dataclass
class TrainedRanker:
    booster: lgb.Booster
    features: list[str]  # the kept features, in model input order
    dropped: list[str]  # constant over the training rows
    metrics: dict[str, float]
    best_single_feature: str
    heldout_x: np.ndarray
    rows: int
    queries: int
    seconds: float


def train(table: FeatureTable, cfg: RankerConfig) -> TrainedRanker:
    started = time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    n_queries = len(table.groups)
    heldout_count = round(n_queries * cfg.holdout)
    if n_queries - heldout_count < 2 or heldout_count < 1:
        raise FeaturesError(f"{n_queries} queries are too few to train and hold out {cfg.holdout:.0%}")
    is_heldout = np.zeros(n_queries, dtype=bool)
    is_heldout[rng.permutation(n_queries)[:heldout_count]] = True
    train_groups = [g for g, h in zip(table.groups, is_heldout) if not h]
    test_groups = [g for g, h in zip(table.groups, is_heldout) if h]
    train_rows = np.concatenate(train_groups)

    constant = np.all(table.x[train_rows] == table.x[train_rows][:1], axis=0)
    kept = [n for n, c in zip(table.names, constant) if not c]
    dropped = [n for n, c in zip(table.names, constant) if c]
    if not kept:
        raise FeaturesError(f"every feature is constant over the training rows: {dropped}")
    if dropped:
        log.info("dropping constant features %s", dropped)
    columns = np.flatnonzero(~constant)

    params = {
        "objective": "lambdarank",
        "metric": "ndcg",
        "eval_at": [10],
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.num_leaves,
        "min_data_in_leaf": cfg.min_data_in_leaf,
        "label_gain": [float(2**g - 1) for g in range(max(31, int(table.label.max()) + 1))],
        "num_threads": cfg.threads,
        "seed": cfg.seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    dataset = lgb.Dataset(
        table.x[train_rows][:, columns],
        label=table.label[train_rows],
        group=[len(g) for g in train_groups],
        feature_name=kept,
        free_raw_data=True,
    )
    booster = float32_thresholds(lgb.train(params, dataset, num_boost_round=cfg.rounds))

    test_rows = np.concatenate(test_groups)
    local = _local_groups(test_groups)
    labels = table.label[test_rows]
    scores = booster.predict(table.x[test_rows][:, columns], num_threads=cfg.threads)
    single = {name: mean_ndcg(local, labels, table.x[test_rows][:, table.names.index(name)]) for name in kept}
    best = max(single, key=lambda n: single[n])
    metrics = {
        "ndcg@10": round(mean_ndcg(local, labels, scores), 5),
        "best_single_feature_ndcg@10": round(single[best], 5),
        "queries": len(test_groups),
    }
    return TrainedRanker(
        booster=booster,
        features=kept,
        dropped=dropped,
        metrics=metrics,
        best_single_feature=best,
        heldout_x=table.x[test_rows][:, columns],
        rows=len(table.label),
        queries=n_queries,
        seconds=time.perf_counter() - started,
    )


def float32_thresholds(booster: lgb.Booster) -> lgb.Booster:
    """The same model with every numeric split threshold rounded down to a float32.

    The server feeds float32 features, and ONNX stores thresholds as float32.
    LightGBM's float64 threshold `t` rounded to nearest float32 could land
    above a feature value `x <= t`, sending that row the other way in ONNX
    only. For any float32 `x`, `x <= t` exactly when `x <= floor32(t)`, so
    rounding down changes nothing in LightGBM and makes ONNX agree with it.
    """
    lines = booster.model_to_string().split("\n")
    # Byte sizes of the tree blocks; they change, and LightGBM parses
    # the trees one after the other without them.
    lines = [line for line in lines if not line.startswith("tree_sizes=")]
    thresholds, decisions = {}, {}
    for i, line in enumerate(lines):
        if line.startswith("Tree="):
            tree = i
        elif line.startswith("threshold="):
            thresholds[tree] = i
        elif line.startswith("decision_type="):
            decisions[tree] = [int(v) for v in line.split("=", 1)[1].split()]
    for tree, i in thresholds.items():
        values = lines[i].split("=", 1)[1].split()
        for j, text in enumerate(values):
            if decisions.get(tree, [0] * len(values))[j] & 1:
                continue  # a categorical split holds a category index, not a threshold
            t = float(text)
            f = np.float32(t)
            if float(f) > t:
                f = np.nextafter(f, np.float32(-np.inf))
            values[j] = repr(float(f))
        lines[i] = "threshold=" + " ".join(values)
    return lgb.Booster(model_str="\n".join(lines))


def _local_groups(groups: list[np.ndarray]) -> list[np.ndarray]:
    """Row index arrays of `groups` renumbered from 0 as if the groups were concatenated."""
    out, start = [], 0
    for g in groups:
        out.append(np.arange(start, start + len(g)))
        start += len(g)
    return out


def to_onnx(trained: TrainedRanker) -> tuple[bytes, str]:
    """The ranker as ONNX (input `features`, float32 [N, F]) and its output name."""
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = convert_lightgbm(
        trained.booster,
        initial_types=[("features", FloatTensorType([None, len(trained.features)]))],
        # onnxmltools 1.16 converts LightGBM up to opset 15 (ai.onnx.ml 3).
        target_opset=15,
        zipmap=False,
    )
    return model.SerializeToString(), model.graph.output[0].name


def check_onnx(trained: TrainedRanker, onnx_bytes: bytes) -> float:
    """Largest difference between LightGBM and onnxruntime scores on the held-out rows.

    The converter stores thresholds as float32 while LightGBM compares in
    float64, so a value lying exactly between the two may branch differently;
    the check allows a tiny absolute difference and refuses anything more.
    """
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    x = trained.heldout_x.astype(np.float32)
    expected = trained.booster.predict(x)
    actual = np.asarray(session.run(None, {"features": x})[0]).reshape(-1)
    worst = float(np.abs(expected - actual).max())
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
    if worst > tolerance:
        raise artifacts.ArtifactError(f"ranker.onnx differs from LightGBM by {worst:g} > {tolerance:g}")
    return worst


def add_to_version(trained: TrainedRanker, onnx_bytes: bytes, output: str, directory: Path, cfg: RankerConfig) -> None:
    """Writes `ranker.onnx` into `directory` and rewrites its manifest (ranker, files, metrics)."""
    directory = Path(directory)
    manifest = artifacts.read_manifest(directory)
    # A watcher may briefly see the new ranker.onnx before the new manifest;
    # the old manifest's hash for it then fails and that version is refused
    # until the manifest lands a moment later.
    tmp = directory / (artifacts.RANKER_FILE + ".tmp")
    tmp.write_bytes(onnx_bytes)
    tmp.replace(directory / artifacts.RANKER_FILE)
    manifest["ranker"] = {
        "file": artifacts.RANKER_FILE,
        "input": "features",
        "output": output,
        "features": trained.features,
    }
    manifest["files"] = artifacts.file_hashes(directory)
    manifest.setdefault("metrics", {})["ranker"] = trained.metrics
    manifest.setdefault("training", {})["ranker"] = {
        "rows": trained.rows,
        "queries": trained.queries,
        "dropped_constant_features": trained.dropped,
        "best_single_feature": trained.best_single_feature,
        "seconds": round(trained.seconds, 1),
        "hyperparameters": asdict(cfg),
    }
    artifacts.write_json_atomic(directory / artifacts.MANIFEST, manifest)


def newest_version(root: Path) -> Path:
    """The newest version directory under `root` by name; `.partial-*` ones are skipped."""
    versions = sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not versions:
        raise artifacts.ArtifactError(f"{root} holds no model version; train the HGNN first")
    return versions[-1]


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m hyperrec_models.ranker",
        description="Train the lambdarank ranker on `hyperrec features` rows and add it to a model version.",
    )
    parser.add_argument(
        "--features", required=True, type=Path, help="CSV: query_id, customer, product, label, features…"
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--version-dir", type=Path, help="the version directory to add ranker.onnx to")
    target.add_argument("--root", type=Path, help="add it to the newest version under this directory")
    add_config_flags(parser, RankerConfig)
    args = parser.parse_args(argv)
    cfg = config_from_args(RankerConfig, args)
    try:
        directory = args.version_dir or newest_version(args.root)
        artifacts.read_manifest(directory)
        trained = train(read_features(args.features), cfg)
        onnx_bytes, output = to_onnx(trained)
        worst = check_onnx(trained, onnx_bytes)
        add_to_version(trained, onnx_bytes, output, directory, cfg)
    except (ValueError, OSError, artifacts.ArtifactError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    log.info("ranker written dir=%s max_abs_diff=%.2e", directory, worst)
    print(
        json.dumps(
            {
                "version_dir": str(directory),
                "features": trained.features,
                "dropped": trained.dropped,
                "metrics": trained.metrics,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
