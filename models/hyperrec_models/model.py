"""The two networks: the HGNN that embeds every vertex, and the query encoder.

Only the query encoder is exported as ONNX (`hgnn.onnx`); the HGNN's output,
the final-layer vertex embeddings, is exported as plain vectors. The server
feeds those vectors back into the encoder, so the encoder is always trained
on the HGNN's final layer, never on its input embeddings.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .hypergraph import Propagation

# Query slots as fixed by models/CONTRACT.md.
CUSTOMER_SLOT, INTENT_SLOT, TIME_SLOT, FIRST_CONTEXT_SLOT = 0, 1, 2, 3


class HGNN(nn.Module):
    """Learnable input embeddings per vertex, then `layers` hypergraph convolutions.

    Each layer is `normalize(X + σ(G X Θ))` (no σ on the last), where
    `G X` is the Feng et al. convolution. The skip keeps a vertex's own
    identity: after two hops through context vertices that touch every
    edge, the pure convolution would pull all customers towards one
    average. The row L2-normalization keeps those hub vertices, which sum
    hundreds of thousands of edges, from dwarfing everyone else.
    """

    def __init__(self, vertex_count: int, dim: int, layers: int = 2):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(vertex_count, dim) * 0.1)
        self.thetas = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(layers))
        for theta in self.thetas:
            nn.init.eye_(theta.weight)

    def forward(self, propagate: Propagation) -> torch.Tensor:
        x = self.embedding
        last = len(self.thetas) - 1
        for i, theta in enumerate(self.thetas):
            h = propagate(theta(x))
            x = x + (h if i == last else torch.tanh(h))
            x = F.normalize(x, dim=1, eps=1e-6)
        return x


class QueryEncoder(nn.Module):
    """Query vertices and recent hyperedges in, an L2-normalized query embedding out.

    Inputs as in models/CONTRACT.md: `query_vertices [B,Q,D]`, `query_mask
    [B,Q]`, `recent_edges [B,R,D]`, `recent_weight [B,R]`. Each slot kind
    (customer, intent, time, context) has its own linear map; the masked
    sum of the mapped slots is the context part. The recent edges are read
    twice: a weight-decayed mean (what the customer did lately) and an
    attention pooling keyed by the context part (which of those recent edges
    resemble this context), with the decayed weights as a log prior.
    """

    def __init__(self, dim: int, slots: int):
        super().__init__()
        if slots <= FIRST_CONTEXT_SLOT:
            raise ValueError(f"query_slots must exceed {FIRST_CONTEXT_SLOT}, got {slots}")
        self.dim, self.slots = dim, slots
        self.slot_maps = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(4))
        for m in self.slot_maps:
            nn.init.eye_(m.weight)
        # Identity starts: the mean and the attended recent edge already live in
        # product space, so the model begins by recommending what was done lately.
        self.recent_map = nn.Linear(dim, dim, bias=False)
        self.attended_map = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.recent_map.weight)
        nn.init.eye_(self.attended_map.weight)
        self.attention_key = nn.Linear(dim, dim, bias=False)
        self.mix = nn.Sequential(nn.Linear(3 * dim + 1, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(
        self,
        query_vertices: torch.Tensor,
        query_mask: torch.Tensor,
        recent_edges: torch.Tensor,
        recent_weight: torch.Tensor,
    ) -> torch.Tensor:
        mask = query_mask.unsqueeze(-1)
        slots = query_vertices * mask
        mapped = [
            self.slot_maps[0](slots[:, CUSTOMER_SLOT]),
            self.slot_maps[1](slots[:, INTENT_SLOT]),
            self.slot_maps[2](slots[:, TIME_SLOT]),
            self.slot_maps[3](slots[:, FIRST_CONTEXT_SLOT:]).sum(dim=1),
        ]
        query = mapped[0] + mapped[1] + mapped[2] + mapped[3]

        valid = (recent_weight > 0).to(recent_weight.dtype)
        total = recent_weight.sum(dim=1, keepdim=True)
        mean = (recent_edges * recent_weight.unsqueeze(-1)).sum(dim=1) / (total + 1e-6)

        key = self.attention_key(query).unsqueeze(-1)  # [B, D, 1]
        score = torch.matmul(recent_edges, key).squeeze(-1) / math.sqrt(self.dim)
        score = score + torch.log(recent_weight + 1e-6)
        attend = torch.softmax(score, dim=1) * valid
        attend = attend / (attend.sum(dim=1, keepdim=True) + 1e-6)
        attended = (recent_edges * attend.unsqueeze(-1)).sum(dim=1)

        history = torch.log1p(total)
        h = (
            query
            + self.recent_map(mean)
            + self.attended_map(attended)
            + self.mix(torch.cat([query, mean, attended, history], dim=1))
        )
        return F.normalize(h, dim=1, eps=1e-6)
