"""The normalized incidence operators of hypergraph convolution (Feng et al., AAAI 2019).

One convolution is `Dv^-1/2 H W De^-1 H^T Dv^-1/2 X Θ`, with `H` the
vertex-by-edge incidence matrix, `W` the diagonal of edge weights, `Dv` the
weighted vertex degrees (`Σ_e w(e) h(v, e)`) and `De` the edge sizes. The
N x N product is never formed: context, intent and time vertices touch
almost every edge, so it would be nearly dense in their rows. Instead the
two sparse factors are kept and applied one after the other:

    gather  = De^-1 H^T Dv^-1/2     [E, N]: each edge averages its vertices
    scatter = Dv^-1/2 H W           [N, E]: each vertex sums its edges
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from .edges import Edges


class _SparseProduct(torch.autograd.Function):
    """`a @ x` whose backward uses a precomputed transpose of `a`.

    torch's own backward for CSR @ dense transposes the matrix on every
    call, which made one training step four times slower than it needs to be.
    """

    @staticmethod
    def forward(ctx, a: torch.Tensor, a_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        ctx.a_t = a_t
        return a @ x

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return None, None, ctx.a_t @ grad


@dataclass
class Propagation:
    gather: torch.Tensor  # sparse CSR [E, N]
    scatter: torch.Tensor  # sparse CSR [N, E]
    gather_t: torch.Tensor  # sparse CSR [N, E]
    scatter_t: torch.Tensor  # sparse CSR [E, N]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        edges = _SparseProduct.apply(self.gather, self.gather_t, x)
        return _SparseProduct.apply(self.scatter, self.scatter_t, edges)


def incidence(edges: Edges) -> tuple[np.ndarray, np.ndarray]:
    """(vertex, edge) pairs of every known vertex of every edge, the customer included."""
    members = np.concatenate([edges.customer[:, None], edges.others()], axis=1)
    edge_ids = np.broadcast_to(np.arange(len(edges))[:, None], members.shape)
    known = members >= 0
    # A vertex named twice in one edge is still one incidence, h(v, e) = 1.
    pairs = np.sort(members[known].astype(np.int64) * len(edges) + edge_ids[known])
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]
    pairs = pairs[first]
    return pairs // len(edges), pairs % len(edges)


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> torch.Tensor:
    # `incidence` gives each (row, col) pair once, so sorting builds the CSR directly.
    order = np.argsort(rows.astype(np.int64) * shape[1] + cols, kind="stable")
    crow = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=crow[1:])
    with warnings.catch_warnings():
        # torch warns once that sparse CSR is "beta"; the two products used here are stable.
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(crow),
            torch.from_numpy(cols[order].astype(np.int64)),
            torch.from_numpy(values[order].astype(np.float32)),
            size=shape,
        )


def propagation(edges: Edges, vertex_count: int) -> Propagation:
    """The two factors of one hypergraph convolution over `edges`."""
    vertex, edge = incidence(edges)
    weight = edges.weight.astype(np.float64)
    vertex_degree = np.bincount(vertex, weights=weight[edge], minlength=vertex_count)
    edge_size = np.bincount(edge, minlength=len(edges)).astype(np.float64)

    # A vertex without edges here keeps a zero row: it receives nothing.
    inv_sqrt_dv = np.zeros(vertex_count)
    has = vertex_degree > 0
    inv_sqrt_dv[has] = vertex_degree[has] ** -0.5
    inv_de = np.zeros(len(edges))
    inv_de[edge_size > 0] = 1.0 / edge_size[edge_size > 0]

    gather = inv_de[edge] * inv_sqrt_dv[vertex]
    scatter = inv_sqrt_dv[vertex] * weight[edge]
    e_by_n, n_by_e = (len(edges), vertex_count), (vertex_count, len(edges))
    return Propagation(
        gather=_csr(edge, vertex, gather, e_by_n),
        scatter=_csr(vertex, edge, scatter, n_by_e),
        gather_t=_csr(vertex, edge, gather, n_by_e),
        scatter_t=_csr(edge, vertex, scatter, e_by_n),
    )
