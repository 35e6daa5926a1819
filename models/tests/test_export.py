"""The version directory follows models/CONTRACT.md and the ONNX encoder matches torch."""

import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import torch

from hyperrec_models import artifacts, train
from hyperrec_models.edges import KINDS


def test_version_dir_is_named_by_time_and_data_digest(version_dir, trained):
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{8}", version_dir.name)
    assert version_dir.name.endswith(trained.data_digest[:8])
    assert not [p for p in version_dir.parent.iterdir() if p.name.startswith(".partial-")]


def test_manifest_hashes_every_file(version_dir):
    manifest = json.loads((version_dir / "manifest.json").read_text())
    on_disk = {p.name for p in version_dir.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert artifacts.sha256(version_dir / name) == digest


def test_manifest_describes_the_vectors(version_dir, trained):
    manifest = json.loads((version_dir / "manifest.json").read_text())
    dim = manifest["dim"]
    assert manifest["format"] == 1 and manifest["version"] == version_dir.name
    assert manifest["encoder"]["query_slots"] == trained.config.query_slots
    assert manifest["training"]["data_digest"] == f"sha256:{trained.data_digest}"
    assert set(manifest["metrics"]["hgnn"]) >= {"recall@10", "ndcg@10"}
    for kind in KINDS:
        entry = manifest["vertices"][kind]
        names, rows = artifacts.read_vectors(version_dir, kind, dim)
        assert len(names) == entry["count"] == rows.shape[0] == trained.vocab.count(kind)
        assert (version_dir / entry["vectors"]).stat().st_size == entry["count"] * dim * 4
    _, products = artifacts.read_vectors(version_dir, "product", dim)
    np.testing.assert_allclose(np.linalg.norm(products, axis=1), 1.0, atol=1e-4)
    # In f32 arithmetic no dot product reaches 1, so `1 - dot` distances stay >= 0.
    assert (products @ products.T).max() < 1.0
    names, _ = artifacts.read_vectors(version_dir, "time", dim)
    assert all(re.fullmatch(r"week(day|end)/\w+", n) for n in names)


def test_onnx_encoder_declares_the_contract_shapes(version_dir, trained):
    cfg = trained.config
    model = onnx.load(str(version_dir / "hgnn.onnx"))

    def dims(value):
        return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]

    shapes = {v.name: dims(v) for v in [*model.graph.input, *model.graph.output]}
    assert shapes == {
        "query_vertices": ["batch", cfg.query_slots, cfg.dim],
        "query_mask": ["batch", cfg.query_slots],
        "recent_edges": ["batch", cfg.recent_edges, cfg.dim],
        "recent_weight": ["batch", cfg.recent_edges],
        "query_embedding": ["batch", cfg.dim],
    }


def test_onnx_encoder_matches_torch_at_any_batch_size(version_dir, trained):
    session = ort.InferenceSession(str(version_dir / "hgnn.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(artifacts.ENCODER_INPUTS)
    assert [o.name for o in session.get_outputs()] == [artifacts.ENCODER_OUTPUT]
    cfg = trained.config
    for batch in (1, 7, 300):
        inputs = artifacts.example_inputs(cfg.dim, cfg.query_slots, cfg.recent_edges, batch, seed=batch)
        (actual,) = session.run(None, dict(zip(artifacts.ENCODER_INPUTS, inputs)))
        with torch.no_grad():
            expected = trained.encoder(*(torch.from_numpy(a) for a in inputs)).numpy()
        assert actual.shape == (batch, cfg.dim)
        np.testing.assert_allclose(actual, expected, atol=1e-4)
        np.testing.assert_allclose(np.linalg.norm(actual, axis=1), 1.0, atol=1e-4)


def test_all_masked_query_gives_a_finite_embedding(version_dir, trained):
    cfg = trained.config
    session = ort.InferenceSession(str(version_dir / "hgnn.onnx"), providers=["CPUExecutionProvider"])
    inputs = (
        np.zeros((2, cfg.query_slots, cfg.dim), np.float32),
        np.zeros((2, cfg.query_slots), np.float32),
        np.zeros((2, cfg.recent_edges, cfg.dim), np.float32),
        np.zeros((2, cfg.recent_edges), np.float32),
    )
    (out,) = session.run(None, dict(zip(artifacts.ENCODER_INPUTS, inputs)))
    assert np.isfinite(out).all()


def test_cli_writes_a_version_and_reports_bad_input(edges_csv, tmp_path, capsys):
    root = tmp_path / "root"
    flags = ["--dim", "8", "--epochs", "1", "--queries-per-epoch", "512", "--batch", "256"]
    assert train.main(["--edges", str(edges_csv), "--out", str(root), *flags]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (root / printed["version_dir"].split("/")[-1] / "manifest.json").is_file()

    assert train.main(["--edges", str(tmp_path / "missing.csv"), "--out", str(root)]) == 2
    assert "missing.csv" in capsys.readouterr().err
