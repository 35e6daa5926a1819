"""The HGNN and query encoder learn the planted effects of the synthetic edges."""

import numpy as np
import pytest
import torch
from synthetic import GYM_PRODUCTS

from hyperrec_models.edges import EdgesError, read_csv
from hyperrec_models.queries import recent_index


def _query(trained, customer, location, masked_customer=False):
    """Encoder inputs for one query with no recent edges, built from the final embeddings."""
    vocab, cfg, x = trained.vocab, trained.config, torch.from_numpy(trained.final)
    ids = [
        -1 if masked_customer else vocab.offsets["customer"] + vocab.ids["customer"][customer],
        vocab.offsets["intent"] + vocab.ids["intent"]["browse"],
        vocab.offsets["time"] + vocab.ids["time"]["weekday/morning"],
        vocab.offsets["context"] + vocab.ids["context"][f"location={location}"],
        vocab.offsets["context"] + vocab.ids["context"]["device=mobile"],
    ]
    ids += [-1] * (cfg.query_slots - len(ids))
    ids = torch.tensor([ids])
    mask = (ids >= 0).float()
    vertices = x[ids.clamp(min=0)] * mask.unsqueeze(-1)
    recent = torch.zeros(1, cfg.recent_edges, cfg.dim)
    weight = torch.zeros(1, cfg.recent_edges)
    return vertices, mask, recent, weight


def _gym_share(trained, location, masked_customer=False):
    """Mean rank-based share of gym products in the top 6, over 20 customers."""
    vocab = trained.vocab
    start = vocab.offsets["product"]
    products = torch.nn.functional.normalize(torch.from_numpy(trained.final[start : start + vocab.count("product")]))
    gym = {vocab.ids["product"][p] for p in GYM_PRODUCTS}
    shares = []
    for customer in vocab.names["customer"][:20]:
        with torch.no_grad():
            q = trained.encoder(*_query(trained, customer, location, masked_customer))
        top = torch.topk((q @ products.T)[0], k=len(GYM_PRODUCTS)).indices.tolist()
        shares.append(len(gym.intersection(top)) / len(GYM_PRODUCTS))
    return float(np.mean(shares))


def test_gym_context_ranks_gym_products_first(trained):
    at_gym, at_home = _gym_share(trained, "gym"), _gym_share(trained, "home")
    assert at_gym > 0.8, at_gym
    assert at_home < 0.2, at_home


def test_unknown_customer_still_gets_the_context_effect(trained):
    at_gym = _gym_share(trained, "gym", masked_customer=True)
    at_home = _gym_share(trained, "home", masked_customer=True)
    assert at_gym > 0.8 and at_home < 0.2, (at_gym, at_home)


def test_recent_edges_move_an_unknown_customer_towards_what_they_did(trained):
    """A customer the model has never seen, with five recent edges on one product, gets that product ranked high."""
    vocab, x = trained.vocab, torch.from_numpy(trained.final)
    start = vocab.offsets["product"]
    products = torch.nn.functional.normalize(x[start : start + vocab.count("product")])
    ranks = []
    for product in ["p010", "p020", "p030", "p040", "p050"]:
        vertices, mask, recent, weight = _query(trained, vocab.names["customer"][0], "home", masked_customer=True)
        members = [
            start + vocab.ids["product"][product],
            vocab.offsets["intent"] + vocab.ids["intent"]["buy"],
            vocab.offsets["time"] + vocab.ids["time"]["weekday/morning"],
            vocab.offsets["context"] + vocab.ids["context"]["location=home"],
        ]
        with torch.no_grad():
            before = (trained.encoder(vertices, mask, recent, weight) @ products.T)[0]
            recent[0, :5] = x[members].mean(dim=0)
            weight[0, :5] = 5.0
            after = (trained.encoder(vertices, mask, recent, weight) @ products.T)[0]
        p = vocab.ids["product"][product]
        ranks.append((int((before > before[p]).sum()), int((after > after[p]).sum())))
    assert all(after < before for before, after in ranks), ranks
    assert np.mean([a for _, a in ranks]) < np.mean([b for b, _ in ranks]) / 2, ranks


def test_beats_popularity_on_held_out_edges(trained):
    m = trained.metrics
    assert m["queries"] > 0
    assert m["recall@10"] > m["popular_recall@10"] + 0.15, m
    assert m["ndcg@10"] > m["popular_ndcg@10"], m


def test_recent_edges_are_strictly_earlier_and_newest_first():
    group = np.array([0, 1, 0, 0, 0, 1])
    hours = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 5.0])
    recent = recent_index(group, hours, depth=3)
    assert recent[0].tolist() == [-1, -1, -1]
    # Edges 2 and 3 happen at the same time: neither is the other's history.
    assert recent[2].tolist() == [0, -1, -1]
    assert recent[3].tolist() == [0, -1, -1]
    assert recent[4].tolist() == [3, 2, 0]
    assert recent[5].tolist() == [1, -1, -1]


def test_edges_without_export_columns_are_refused(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer,product\nc1,p1\n")
    with pytest.raises(EdgesError, match="lacks columns"):
        read_csv(path)


def test_bad_timestamp_names_its_line(tmp_path, edges_csv):
    lines = edges_csv.read_text().splitlines()
    fields = lines[3].split(",")
    fields[6] = "yesterday"
    lines[3] = ",".join(fields)
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EdgesError, match="line 4"):
        read_csv(path)
