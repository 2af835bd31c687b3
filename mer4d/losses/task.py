"""The recipe's loss on the logits: cross-entropy (single-label) or BCE (multi-label), optionally class-weighted."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn


def task_loss(kind: Literal["ce", "bce"], class_weight: Literal["none", "balanced"], targets: np.ndarray, num_outputs: int) -> nn.Module:
    """``train.loss`` as a module; ``class_weight="balanced"`` weights it from ``targets``, the
    *training* targets only ((N,) class ids for CE, (N, K) multi-hot for BCE).

    BCE: ``pos_weight_k = negatives_k / positives_k`` (a class never positive keeps weight 1).
    CE: ``weight_k = n / (K * count_k)`` over the K model outputs (sklearn's "balanced"); a class
    absent from the training targets gets weight 0, it has no terms anyway.
    """
    balanced = class_weight == "balanced"
    if kind == "bce":
        if not balanced:
            return nn.BCEWithLogitsLoss()
        positives = targets.sum(axis=0).astype(np.float64)
        ratio = np.where(positives > 0, (len(targets) - positives) / np.maximum(positives, 1.0), 1.0)
        return nn.BCEWithLogitsLoss(pos_weight=torch.as_tensor(ratio, dtype=torch.float32))
    if not balanced:
        return nn.CrossEntropyLoss()
    counts = np.bincount(targets, minlength=num_outputs).astype(np.float64)
    weight = np.where(counts > 0, len(targets) / (num_outputs * np.maximum(counts, 1.0)), 0.0)
    return nn.CrossEntropyLoss(weight=torch.as_tensor(weight, dtype=torch.float32))
