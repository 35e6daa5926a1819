"""The lambdarank ranker learns the informative feature, drops constant ones and exports faithfully."""

import json
import shutil

import numpy as np
import onnxruntime as ort
import pytest
from synthetic import write_features

from hyperrec_models import artifacts, ranker


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return ranker.read_features(write_features(tmp_path_factory.mktemp("features") / "features.csv"))


@pytest.fixture(scope="module")
def trained_ranker(table):
    return ranker.train(table, ranker.RankerConfig(rounds=50))


def test_constant_feature_is_dropped(trained_ranker):
    assert trained_ranker.features == ["signal", "noise"]
    assert trained_ranker.dropped == ["constant"]


def test_ranker_learns_the_signal(trained_ranker, table):
    assert trained_ranker.metrics["ndcg@10"] > 0.9, trained_ranker.metrics
    assert trained_ranker.best_single_feature == "signal"
    assert trained_ranker.metrics["queries"] == round(len(table.groups) * 0.2)


def test_onnx_ranker_agrees_with_lightgbm(trained_ranker):
    onnx_bytes, output = ranker.to_onnx(trained_ranker)
    assert ranker.check_onnx(trained_ranker, onnx_bytes) <= 1e-4
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert session.get_outputs()[0].name == output
    x = trained_ranker.heldout_x[:40]
    onnx_scores = np.asarray(session.run(None, {"features": x})[0]).reshape(-1)
    lgb_scores = trained_ranker.booster.predict(x)
    assert np.argsort(-onnx_scores, kind="stable").tolist() == np.argsort(-lgb_scores, kind="stable").tolist()


def test_ranker_is_added_to_a_version(trained_ranker, version_dir, tmp_path):
    target = tmp_path / version_dir.name
    shutil.copytree(version_dir, target)
    onnx_bytes, output = ranker.to_onnx(trained_ranker)
    ranker.add_to_version(trained_ranker, onnx_bytes, output, target, ranker.RankerConfig(rounds=50))
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["ranker"] == {
        "file": "ranker.onnx",
        "input": "features",
        "output": output,
        "features": ["signal", "noise"],
    }
    assert manifest["metrics"]["ranker"]["ndcg@10"] == trained_ranker.metrics["ndcg@10"]
    assert "hgnn" in manifest["metrics"]
    assert set(manifest["files"]) == {p.name for p in target.iterdir()} - {"manifest.json"}
    assert manifest["files"]["ranker.onnx"] == artifacts.sha256(target / "ranker.onnx")


def test_cli_adds_ranker_to_newest_version(version_dir, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(version_dir, root / version_dir.name)
    features = write_features(tmp_path / "f.csv", queries=60)
    assert ranker.main(["--features", str(features), "--root", str(root), "--rounds", "20"]) == 0
    assert (root / version_dir.name / "ranker.onnx").is_file()


def test_non_contiguous_query_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("query_id,customer,product,label,a\nq1,c,p1,1,0.5\nq2,c,p1,0,0.1\nq1,c,p2,0,0.2\n")
    with pytest.raises(ranker.FeaturesError, match="not contiguous"):
        ranker.read_features(path)


def test_bad_header_is_refused(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("query,customer,product,label,a\nq1,c,p1,1,0.5\n")
    with pytest.raises(ranker.FeaturesError, match="header must start"):
        ranker.read_features(path)
