"""A torch Dataset over some rows of a Corpus."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from mer4d.core.shapes import check_shape
from mer4d.data.corpus import Corpus


class ClipSet(Dataset):
    """Clips ``(C, T, H, W)`` float32 and their targets for the given Index row positions."""

    def __init__(self, corpus: Corpus, positions: np.ndarray, targets: np.ndarray):
        self.corpus = corpus
        self.positions = np.asarray(positions, dtype=np.int64)
        self.targets = targets[self.positions]

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, torch.Tensor]:
        position = int(self.positions[item])
        clip = self.corpus.load_clip(position)
        check_shape(clip, "C T H W", name=f"clip {self.corpus.index['clip_id'].iat[position]}")
        return torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32)), torch.as_tensor(self.targets[item])
