"""Turning hyperedges into the query encoder's inputs, the way the server does.

A query is one hyperedge seen from before it happened: its customer,
intent, time bucket and context values fill the query slots, and the
customer's hyperedges strictly earlier in time, newest first, fill the
recent rows. A recent row is the mean of the final embeddings of that
edge's known vertices other than the customer; its weight is
`weight × 0.5^(age_hours / half_life_hours)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .edges import Edges
from .model import FIRST_CONTEXT_SLOT


def recent_index(group: np.ndarray, hours: np.ndarray, depth: int) -> np.ndarray:
    """For each edge, up to `depth` earlier edges of the same group, newest first.

    `group` numbers the customers (by name, so a customer the vocab lacks
    still has a history). Edges at the very same time are not "earlier"
    than each other. Returns edge indices `[E, depth]`, -1 padded.
    """
    n = len(group)
    order = np.lexsort((np.arange(n), hours, group))
    g, h = group[order], hours[order]
    positions = np.arange(n)
    new_group = np.ones(n, dtype=bool)
    new_group[1:] = g[1:] != g[:-1]
    new_tie = new_group.copy()
    new_tie[1:] |= h[1:] != h[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, positions, 0))
    tie_start = np.maximum.accumulate(np.where(new_tie, positions, 0))

    out = np.full((n, depth), -1, dtype=np.int64)
    for r in range(depth):
        candidate = tie_start - 1 - r
        ok = candidate >= group_start
        out[order[ok], r] = order[candidate[ok]]
    return out


def recent_weights(edges: Edges, query: np.ndarray, recent: np.ndarray, half_life_hours: float) -> np.ndarray:
    """Decayed weight of each recent edge at its query's time, 0 for padding: [B, R]."""
    safe = np.maximum(recent, 0)
    age = np.maximum(edges.hours[query][:, None] - edges.hours[safe], 0.0)
    w = edges.weight[safe] * np.power(0.5, age / half_life_hours)
    return np.where(recent >= 0, w, 0.0).astype(np.float32)


def slot_ids(edges: Edges, query: np.ndarray, slots: int) -> np.ndarray:
    """Global vertex id per query slot `[B, Q]`, -1 where empty or unknown."""
    ids = np.full((len(query), slots), -1, dtype=np.int64)
    ids[:, 0] = edges.customer[query]
    ids[:, 1] = edges.intent[query]
    ids[:, 2] = edges.time[query]
    width = min(slots - FIRST_CONTEXT_SLOT, edges.contexts.shape[1])
    # Values beyond the slot count are dropped: the server fills the same slots.
    ids[:, FIRST_CONTEXT_SLOT : FIRST_CONTEXT_SLOT + width] = edges.contexts[query, :width]
    return ids


def gather_rows(x: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of `x` at `ids` (any shape), zero where the id is -1, and the 0/1 mask."""
    mask = (ids >= 0).to(x.dtype)
    rows = x[ids.clamp(min=0)] * mask.unsqueeze(-1)
    return rows, mask


@dataclass
class QueryBatch:
    """Encoder inputs for a batch of queries, as tensors, before the embeddings are looked up."""

    slot_ids: torch.Tensor  # [B, Q]
    recent_members: torch.Tensor  # [B, R, M] vertex ids of each recent edge except its customer
    recent_weight: torch.Tensor  # [B, R]
    target: torch.Tensor  # [B] global product vertex id, -1 when unknown

    def inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The four encoder inputs for final-layer embeddings `x`."""
        query_vertices, query_mask = gather_rows(x, self.slot_ids)
        members, member_mask = gather_rows(x, self.recent_members)
        count = member_mask.sum(dim=-1, keepdim=True)
        recent = members.sum(dim=2) / count.clamp(min=1.0)
        weight = self.recent_weight * (count.squeeze(-1) > 0).to(x.dtype)
        return query_vertices, query_mask, recent, weight


def build_batch(
    edges: Edges,
    others: np.ndarray,
    recent: np.ndarray,
    query: np.ndarray,
    slots: int,
    half_life_hours: float,
) -> QueryBatch:
    """Encoder inputs for edges `query`; `others` is `edges.others()` and `recent` from `recent_index`."""
    rec = recent[query]
    members = np.where(rec[..., None] >= 0, others[np.maximum(rec, 0)], -1)
    return QueryBatch(
        slot_ids=torch.from_numpy(slot_ids(edges, query, slots)),
        recent_members=torch.from_numpy(members),
        recent_weight=torch.from_numpy(recent_weights(edges, query, rec, half_life_hours)),
        target=torch.from_numpy(edges.product[query]),
    )
