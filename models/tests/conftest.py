import sys
import warnings
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
warnings.filterwarnings("ignore", category=UserWarning)
torch.set_num_threads(2)

from synthetic import write_edges

from hyperrec_models import train
from hyperrec_models.edges import read_csv

SMALL = {
    "dim": 16,
    "epochs": 8,
    "queries_per_epoch": 8192,
    "batch": 256,
    "learning_rate": 0.02,
    "folds": 4,
    "holdout": 0.1,
}


@pytest.fixture(scope="session")
def edges_csv(tmp_path_factory) -> Path:
    return write_edges(tmp_path_factory.mktemp("edges") / "edges.csv")


@pytest.fixture(scope="session")
def trained(edges_csv) -> train.Trained:
    return train.fit(read_csv(edges_csv), train.Config(**SMALL))


@pytest.fixture(scope="session")
def version_dir(trained, tmp_path_factory) -> Path:
    return train.write_version(trained, tmp_path_factory.mktemp("models"))
