"""Class-balanced losses (Cui et al., "Class-Balanced Loss Based on Effective Number of Samples",
CVPR 2019; algorithms.md §11), the reweighting the DFME paper compares with uniform resampling.

A class seen n times in the training fold has effective number E_n = (1 - beta^n) / (1 - beta) and
weight w_c = 1 / E_n, normalised so that the weights of the classes present sum to their number.
beta -> 0 is no reweighting, beta -> 1 inverse frequency; with micro-expression class sizes beta =
0.9 barely reweights (E_n <= 10), 0.9999 (the default) is near inverse frequency.

The losses, for logits z (B, K):

* softmax: -w_y log softmax(z)_y, averaged over the batch. Not ``F.cross_entropy(weight=w)``,
  whose mean divides by the sum of the batch's weights and so cancels the reweighting's scale;
* sigmoid: w_y sum_k BCE(z_k, onehot(y)_k), averaged over the batch; never BCE on softmax
  probabilities (the reference code's "softmax" option, which is not softmax cross-entropy);
* focal: the sigmoid form x (1 - p_t)^gamma per term, the modulator computed in log space as
  exp(-gamma (y z + log(1 + e^-z))) (Cui et al.'s stable form), or with ``variant="softmax"``
  -w_y (1 - p_y)^gamma log p_y.

Multi-label targets (B, K) use per-class weights w_k from the positive counts on each class's
terms (sigmoid and focal only). A class absent from the training fold gets weight 0.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError


def effective_number_weights(counts: np.ndarray, beta: float) -> np.ndarray:
    """w_c = (1 - beta) / (1 - beta^n_c), normalised to sum to the number of classes with n_c > 0; 0 where n_c = 0."""
    counts = np.asarray(counts, dtype=np.float64)
    if not 0.0 <= beta < 1.0:
        raise RecipeError(f"train.loss.beta must be in [0, 1), got {beta!r}; the DFME / Cui et al. grid is 0.9, 0.99, 0.999, 0.9999")
    present = counts > 0
    if not present.any():
        raise RecipeError("class-balanced loss: the training fold has no labelled clip of any class")
    weights = np.zeros_like(counts)
    weights[present] = (1.0 - beta) / (1.0 - np.power(beta, counts[present]))
    return weights * present.sum() / weights.sum()


class ClassBalancedLoss(nn.Module):
    """A class-balanced loss on logits (B, K) with (B,) class ids or (B, K) multi-hot targets.

    Args:
        weights: (K,) class weights (:func:`effective_number_weights`).
        form: ``softmax``, ``sigmoid`` or ``focal``.
        variant: for ``focal``, its ``sigmoid`` (Cui et al.) or ``softmax`` form.
        gamma: the focal exponent (>= 0; 0 is the plain weighted loss).
        multilabel: targets are (B, K) multi-hot (sigmoid and focal-sigmoid only).
    """

    def __init__(self, weights: np.ndarray, form: Literal["softmax", "sigmoid", "focal"], variant: Literal["softmax", "sigmoid"] = "sigmoid",
                 gamma: float = 2.0, multilabel: bool = False):
        super().__init__()
        if multilabel and (form == "softmax" or variant == "softmax" and form == "focal"):
            raise RecipeError("a softmax class-balanced loss needs one class per clip; for multi-label tasks set train.loss.variant: sigmoid")
        self.register_buffer("weight", torch.as_tensor(np.asarray(weights), dtype=torch.float32))
        self.form, self.variant, self.gamma, self.multilabel = form, variant, float(gamma), multilabel

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logits = logits.float()  # the loss in float32, also under autocast
        if self.multilabel:
            onehot = targets.float()
            term_weight = self.weight.expand_as(onehot)
        else:
            targets = targets.long()
            sample_weight = self.weight[targets]
            if self.form == "softmax" or (self.form == "focal" and self.variant == "softmax"):
                log_p = F.log_softmax(logits, dim=1).gather(1, targets[:, None])[:, 0]
                modulator = 1.0 if self.form == "softmax" else (-torch.expm1(log_p)).clamp_min(0).pow(self.gamma)
                return (sample_weight * modulator * -log_p).mean()
            onehot = F.one_hot(targets, logits.shape[1]).float()
            term_weight = sample_weight[:, None].expand_as(onehot)
        terms = F.binary_cross_entropy_with_logits(logits, onehot, reduction="none")
        if self.form == "focal":
            terms = terms * torch.exp(-self.gamma * (onehot * logits + F.softplus(-logits)))
        return (term_weight * terms).sum(dim=1).mean()


def class_balanced_loss(name: Literal["class_balanced", "class_balanced_focal"], variant: Literal["softmax", "sigmoid"], beta: float, gamma: float,
                        targets: np.ndarray, num_outputs: int) -> ClassBalancedLoss:
    """The recipe's class-balanced loss, weighted from ``targets``: the *training* fold's (N,) class ids or (N, K) multi-hot rows."""
    multilabel = np.asarray(targets).ndim == 2
    counts = np.asarray(targets).sum(axis=0) if multilabel else np.bincount(np.asarray(targets, dtype=np.int64), minlength=num_outputs)
    weights = effective_number_weights(counts, beta)
    form = "focal" if name == "class_balanced_focal" else variant
    return ClassBalancedLoss(weights, form, variant, gamma, multilabel)
