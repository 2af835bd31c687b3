"""A torch Dataset over some rows of a Corpus."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from mer4d.core.shapes import check_shape
from mer4d.data.corpus import Corpus


class ClipSet(Dataset):
    """Clips ``(C, T, H, W)`` float32 and their targets for the given Index row positions.

    ``aux_targets`` (all rows, like ``targets``): a second target per clip, yielded third, for
    models trained on two label sets (AU-graph: AU multi-hot next to the emotions).
    """

    def __init__(self, corpus: Corpus, positions: np.ndarray, targets: np.ndarray, aux_targets: np.ndarray | None = None):
        self.corpus = corpus
        self.positions = np.asarray(positions, dtype=np.int64)
        self.targets = targets[self.positions]
        self.aux_targets = None if aux_targets is None else aux_targets[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, ...]:
        position = int(self.positions[item])
        clip = self.corpus.load_clip(position)
        check_shape(clip, "C T H W", name=f"clip {self.corpus.index['clip_id'].iat[position]}")
        out = (torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)), torch.as_tensor(self.targets[item]))
        return out if self.aux_targets is None else (*out, torch.as_tensor(self.aux_targets[item]))
