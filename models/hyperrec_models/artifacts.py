"""The version directory of models/CONTRACT.md: vectors, ONNX files and manifest.json.

A new version is written under `<root>/.partial-<version>` and renamed into
place whole, so a server watching `<root>` never sees half a version. The
manifest is always written last, through a rename, with the SHA-256 of
every other file in the directory.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .edges import KINDS, Vocab
from .edges import file_digest as sha256
from .model import QueryEncoder

FORMAT = 1
MANIFEST = "manifest.json"
ENCODER_FILE = "hgnn.onnx"
RANKER_FILE = "ranker.onnx"
ENCODER_INPUTS = ("query_vertices", "query_mask", "recent_edges", "recent_weight")
ENCODER_OUTPUT = "query_embedding"
# onnxruntime 1.31 runs opsets up to 23; 17 is old enough for any runtime the server may load.
OPSET = 17
ROUND_TRIP_ATOL = 1e-4


class ArtifactError(RuntimeError):
    """An artifact failed its own check; nothing was published."""


def version_name(created: datetime, data_digest: str) -> str:
    return f"{created.strftime('%Y%m%dT%H%M%SZ')}-{data_digest[:8]}"


def file_hashes(directory: Path) -> dict[str, str]:
    """SHA-256 of every regular file in `directory` except the manifest."""
    return {
        p.name: sha256(p)
        for p in sorted(directory.iterdir())
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp")
    }


def write_json_atomic(path: Path, value: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_manifest(directory: Path) -> dict:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"{path} does not exist: is {directory} a model version directory?")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_vectors(directory: Path, vocab: Vocab, x: np.ndarray) -> dict[str, dict]:
    """`<kind>.txt` and `<kind>.f32` per vertex kind; product rows L2-normalized."""
    section = {}
    for kind in KINDS:
        start = vocab.offsets[kind]
        rows = np.ascontiguousarray(x[start : start + vocab.count(kind)], dtype="<f4")
        if kind == "product":
            rows = unit_rows(rows)
        names = vocab.names[kind]
        with open(directory / f"{kind}.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write("".join(n + "\n" for n in names))
        rows.tofile(directory / f"{kind}.f32")
        section[kind] = {"names": f"{kind}.txt", "vectors": f"{kind}.f32", "count": len(names)}
    return section


# Unit rows rounded to f32 can have a dot product of 1.0000002 with
# themselves; a distance `1 - dot` then turns negative (hnsw_rs's DistDot
# asserts against that). A uniform shrink keeps the ranking and every dot
# product of rows, or of a row and a unit query, below 1.
UNIT_SHRINK = 1.0 - 1e-5


def unit_rows(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to L2 norm `UNIT_SHRINK`, as little-endian f32."""
    rows = rows.astype(np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12) * UNIT_SHRINK).astype("<f4")


def read_vectors(directory: Path, kind: str, dim: int) -> tuple[list[str], np.ndarray]:
    names = (directory / f"{kind}.txt").read_text(encoding="utf-8").splitlines()
    rows = np.fromfile(directory / f"{kind}.f32", dtype="<f4").reshape(-1, dim)
    return names, rows


def export_encoder(encoder: QueryEncoder, path: Path, recent_edges: int) -> None:
    """Writes the encoder as ONNX with a dynamic batch axis on every input and the output."""
    encoder = encoder.eval()
    example = example_inputs(encoder.dim, encoder.slots, recent_edges, batch=2, seed=0)
    axes = {name: {0: "batch"} for name in (*ENCODER_INPUTS, ENCODER_OUTPUT)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder,
            tuple(torch.from_numpy(a) for a in example),
            str(path),
            input_names=list(ENCODER_INPUTS),
            output_names=[ENCODER_OUTPUT],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )
    # The exporter names the output's second axis symbolically; the server
    # checks it against `dim`, so state it.
    model = onnx.load(str(path))
    shape = model.graph.output[0].type.tensor_type.shape
    shape.dim[0].dim_param = "batch"
    shape.dim[1].Clear()
    shape.dim[1].dim_value = encoder.dim
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


def example_inputs(dim: int, slots: int, recent: int, batch: int, seed: int) -> tuple[np.ndarray, ...]:
    """Random but well-formed encoder inputs: some masked slots, some padded recent rows."""
    rng = np.random.default_rng(seed)
    mask = (rng.random((batch, slots)) < 0.7).astype(np.float32)
    vertices = rng.normal(size=(batch, slots, dim)).astype(np.float32) * mask[..., None]
    weight = rng.random((batch, recent)).astype(np.float32)
    weight[rng.random((batch, recent)) < 0.3] = 0.0
    edges = rng.normal(size=(batch, recent, dim)).astype(np.float32) * (weight > 0)[..., None]
    return vertices, mask, edges, weight


def check_round_trip(encoder: QueryEncoder, path: Path, samples: list[tuple[np.ndarray, ...]]) -> float:
    """Runs torch and onnxruntime on the same inputs; returns the largest absolute difference."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    if names != list(ENCODER_INPUTS) or [o.name for o in session.get_outputs()] != [ENCODER_OUTPUT]:
        raise ArtifactError(f"{path}: inputs {names}, expected {list(ENCODER_INPUTS)}")
    worst = 0.0
    encoder = encoder.eval()
    for inputs in samples:
        with torch.no_grad():
            expected = encoder(*(torch.from_numpy(a) for a in inputs)).numpy()
        (actual,) = session.run(None, dict(zip(ENCODER_INPUTS, inputs)))
        worst = max(worst, float(np.abs(expected - actual).max()))
    if not worst <= ROUND_TRIP_ATOL:
        raise ArtifactError(f"{path}: onnxruntime differs from torch by {worst:g} > {ROUND_TRIP_ATOL}")
    return worst


def publish(root: Path, version: str, fill) -> Path:
    """Creates `<root>/.partial-<version>`, lets `fill(dir)` write it, then renames it into place."""
    root.mkdir(parents=True, exist_ok=True)
    final = root / version
    if final.exists():
        raise ArtifactError(f"{final} already exists; wait a second or remove it")
    partial = root / f".partial-{version}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        fill(partial)
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
