"""Ranking metrics: recall and NDCG at k, for one chosen item or for graded lists."""

from __future__ import annotations

import numpy as np


def single_target(scores: np.ndarray, target: np.ndarray, k: int = 10) -> dict[str, float]:
    """Recall@k and NDCG@k when each query has one relevant item.

    `scores [B, P]` over every item, `target [B]` the index of the chosen
    one, or -1 when the model does not know it (always a miss, so unknown
    products count against the model rather than being dropped).
    """
    known = target >= 0
    safe = np.maximum(target, 0)
    chosen = scores[np.arange(len(target)), safe]
    # Rank = how many items score strictly higher; ties go to the target.
    rank = (scores > chosen[:, None]).sum(axis=1)
    hit = known & (rank < k)
    gain = np.where(hit, 1.0 / np.log2(rank + 2.0), 0.0)
    return {f"recall@{k}": float(hit.mean()), f"ndcg@{k}": float(gain.mean())}


def ndcg_at(labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """NDCG@k of one query with graded labels (gain `2^label - 1`); NaN when no label is positive."""
    ideal = np.sort(labels)[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    best = float(((2.0**ideal - 1.0) * discounts[: len(ideal)]).sum())
    if best <= 0:
        return float("nan")
    # Stable order on ties keeps the metric deterministic.
    top = labels[np.argsort(-scores, kind="stable")][:k]
    return float(((2.0**top - 1.0) * discounts[: len(top)]).sum()) / best


def mean_ndcg(groups: list[np.ndarray], labels: np.ndarray, scores: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k over the queries (row index arrays) that have a relevant item."""
    values = [ndcg_at(labels[g], scores[g], k) for g in groups]
    values = [v for v in values if not np.isnan(v)]
    return float(np.mean(values)) if values else float("nan")
