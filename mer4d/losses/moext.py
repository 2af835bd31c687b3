"""MoExt's pre-training losses (Li et al., arXiv 2407.07345 §3.5, Eq. 5-9).

The inputs of the two contrastive losses are embeddings f(·) of the features (the network's
projector). The paper's forms are used, not algorithms.md §8b's guesses (an L1 texture
consistency and a pairwise contrastive loss on motion features): L_st is a hinge with the
batch mean of the shape features as anchor (Eq. 6-7), L_oa (the paper's L_ss of §3.5, named
L_oa in Table 7) a contrastive loss between the onset and the apex views of one input set (Eq. 8).
"""

from __future__ import annotations

import torch

# d = sqrt(|x|^2 + EPS): the distance of a pair with itself (j == k in Eq. 8) is ~0, where the
# gradient of a plain norm is 0/0.
EPS = 1e-12


def distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distance along the last dimension, differentiable at zero."""
    return torch.sqrt(((a - b) ** 2).sum(dim=-1) + EPS)


def reconstruction_l1(reconstruction: torch.Tensor, apex: torch.Tensor) -> torch.Tensor:
    """Eq. 5, L_re = 1/n sum_i |X_a,i - X~_a,i|, as the mean absolute error over every pixel (so its
    scale does not grow with the image size, which the paper's per-image sum would)."""
    return (reconstruction - apex).abs().mean()


def shape_texture_loss(f_shape: torch.Tensor, f_texture: torch.Tensor, f_anchor: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 6, L_st = mean over the 2mn instances of max(0, ||f(S̄) - f(S)|| - ||f(S) - f(T)|| + ε):
    a shape feature nearer the anchor than its own instance's texture feature by at least ε.

    Args:
        f_shape, f_texture: (N, P) embeddings of each instance's shape and texture features.
        f_anchor: (P,) the embedding of S̄, the mean raw shape feature of the batch (Eq. 7).
        margin: ε.
    """
    to_anchor = distance(f_anchor.expand_as(f_shape), f_shape)
    to_texture = distance(f_shape, f_texture)
    return torch.clamp(to_anchor - to_texture + margin, min=0).mean()


def shape_texture_term(project, shape: torch.Tensor, texture: torch.Tensor, margin: float, f_shape: torch.Tensor | None = None) -> torch.Tensor:
    """L_st from raw features (N, D): the anchor is the projection of their batch mean (Eq. 7);
    ``f_shape``: ``project(shape)`` when the caller already has it (L_oa uses it too)."""
    f_shape = project(shape) if f_shape is None else f_shape
    return shape_texture_loss(f_shape, project(texture), project(shape.mean(dim=0, keepdim=True))[0], margin)


def onset_apex_loss(f_shape: torch.Tensor, is_apex: torch.Tensor, set_ids: torch.Tensor, margin: float) -> torch.Tensor:
    """Eq. 8: within each input set i (m views of its onset, m of its apex), over all ordered pairs
    (j, k) including j == k, [same frame] ||f_j - f_k|| + [different frame] max(0, ε - ||f_j - f_k||),
    divided by n (2m)^2. Pairs of different sets do not enter.

    Args:
        f_shape: (N, P) shape embeddings, N = 2mn.
        is_apex: (N,) bool, the frame each instance is a view of.
        set_ids: (N,) int, the input set (the onset/apex pair) of each instance; every set has 2m instances.
        margin: ε.
    """
    d = distance(f_shape[:, None, :], f_shape[None, :, :])  # (N, N)
    same_set = set_ids[:, None] == set_ids[None, :]
    same_frame = is_apex[:, None] == is_apex[None, :]
    terms = torch.where(same_frame, d, torch.clamp(margin - d, min=0))
    sets = torch.unique(set_ids)
    per_set = len(set_ids) // len(sets)
    return (terms * same_set).sum() / (len(sets) * per_set * per_set)


def moext_pretrain_loss(re: torch.Tensor, st: torch.Tensor | None, oa: torch.Tensor | None, alpha_st: float = 0.5, alpha_oa: float = 1.0) -> torch.Tensor:
    """Eq. 9, L = L_re + α1 L_st + α2 L_oa (α1 = 0.5, α2 = 1 in §4.1.2); a term given as None (its weight 0,
    Table 7's "w/o L_st" / "w/o L_oa") is left out."""
    total = re
    if st is not None and alpha_st:
        total = total + alpha_st * st
    if oa is not None and alpha_oa:
        total = total + alpha_oa * oa
    return total
