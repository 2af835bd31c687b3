"""A fold's trained model, kept (``train.keep_checkpoints: true``) so analyses reload exactly it.

The checkpoint is a plain dict of tensors, strings, numbers and lists, so
``torch.load(path, weights_only=True)`` reads it (no pickled code runs on load). It holds what
rebuilds the model without the recipe: the registered model name, its ``model.params``, the
sizes the runner passed (``num_classes``, ``in_channels``, ``num_aus``), the class names in
logit order, and the clip ids of the fold's training and test sets, so an analysis can prove
that it only ever shows the model clips it was not trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mer4d.core.errors import RecipeError, TrackingError

CHECKPOINT_FORMAT = "mer4d-fold-checkpoint/1"
FOLD_CHECKPOINT = "fold/model.pt"  # artifact path inside the fold's run, next to fold/predictions.csv


@dataclass(frozen=True)
class FoldCheckpoint:
    """A fold's weights and how to rebuild its model (see the module docstring)."""

    fold_number: int
    fold_name: str
    model: str
    params: dict[str, Any]
    num_classes: int
    in_channels: int
    num_aus: int | None
    classes: tuple[str, ...]
    train_clip_ids: tuple[str, ...]
    test_clip_ids: tuple[str, ...]
    state: dict[str, Any]  # the model's state_dict, CPU tensors

    def payload(self) -> dict[str, Any]:
        """The dict written with ``torch.save`` (weights_only-loadable types only)."""
        return {
            "format": CHECKPOINT_FORMAT, "fold_number": self.fold_number, "fold_name": self.fold_name, "model": self.model,
            "params": dict(self.params), "num_classes": self.num_classes, "in_channels": self.in_channels, "num_aus": self.num_aus,
            "classes": list(self.classes), "train_clip_ids": list(self.train_clip_ids), "test_clip_ids": list(self.test_clip_ids),
            "state": self.state,
        }

    def build(self):
        """The model with the fold's weights, in eval mode on the CPU."""
        from mer4d.models import build_model

        model = build_model(self.model, num_classes=self.num_classes, in_channels=self.in_channels, num_aus=self.num_aus, **self.params)
        model.load_state_dict(self.state)
        return model.eval()


def fold_checkpoint(model, *, fold_number: int, fold_name: str, model_name: str, params: dict[str, Any], num_classes: int,
                    in_channels: int, num_aus: int | None, classes: tuple[str, ...], index: pd.DataFrame,
                    train_rows: np.ndarray, test_rows: np.ndarray) -> FoldCheckpoint:
    """The checkpoint of a fitted torch ``model`` (its state copied to the CPU)."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    ids = index["clip_id"].astype(str).to_numpy()
    return FoldCheckpoint(fold_number, fold_name, model_name, dict(params), int(num_classes), int(in_channels), num_aus, tuple(classes),
                          tuple(ids[train_rows]), tuple(ids[test_rows]), state)


def check_keepable(keep: bool, kind: str, model_name: str) -> None:
    """``train.keep_checkpoints`` applies to torch models (a classic model's scikit-learn state is no tensor dict)."""
    if keep and kind != "torch":
        raise RecipeError(f"train.keep_checkpoints=true keeps torch weights, but model '{model_name}' is a classic ({kind}) model "
                          "fitted by scikit-learn; set train.keep_checkpoints=false")


def save_checkpoint(checkpoint: FoldCheckpoint, path: Path) -> None:
    import torch

    torch.save(checkpoint.payload(), path)


def load_checkpoint(path: Path, where: str = "") -> FoldCheckpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: tensors and plain data only)."""
    import torch

    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused or a truncated file: name it
        raise TrackingError(f"{where or path}: cannot read the fold checkpoint {path} with torch.load(weights_only=True): {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != CHECKPOINT_FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise TrackingError(f"{where or path}: {path} has format {found!r}, expected {CHECKPOINT_FORMAT!r} (written by train.keep_checkpoints)")
    return FoldCheckpoint(
        int(record["fold_number"]), str(record["fold_name"]), str(record["model"]), dict(record["params"]), int(record["num_classes"]),
        int(record["in_channels"]), None if record["num_aus"] is None else int(record["num_aus"]), tuple(record["classes"]),
        tuple(record["train_clip_ids"]), tuple(record["test_clip_ids"]), dict(record["state"]),
    )
