"""One fold of a *classic* model (hand-crafted features + scikit-learn, see mer4d.models.registry).

No epochs and no augmentation: the model is fitted once on the training clips and scores the test
clips once. ``train.crop`` is applied as a centre crop to both, so a classic and a deep model of
one recipe see the same pixels at test time.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from mer4d.data.corpus import Corpus


def stack_clips(corpus: Corpus, positions: np.ndarray, crop: int | None) -> np.ndarray:
    """(N, C, T, H, W) float32 of the given rows, centre-cropped to ``crop`` when set."""
    import torch

    from mer4d.train.augment import centre_crop

    stacked = np.stack([corpus.load_clip(int(p)) for p in positions]).astype(np.float32)
    return stacked if crop is None else centre_crop(torch.from_numpy(stacked), crop).numpy()


class FeatureRows:
    """A classic model's feature rows of a corpus, computed on first use and kept for later folds
    (every clip is a training clip in most folds; its features do not depend on the fold)."""

    def __init__(self, model, corpus: Corpus, crop: int | None, progress: bool):
        self.model, self.corpus, self.crop, self.progress = model, corpus, crop, progress
        self.rows: dict[int, np.ndarray] = {}

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        missing = [int(p) for p in positions if int(p) not in self.rows]
        for start in tqdm(range(0, len(missing), 32), desc="features", disable=not self.progress or not missing, leave=False, unit="batch"):
            chunk = missing[start : start + 32]
            for p, row in zip(chunk, self.model.features(stack_clips(self.corpus, np.array(chunk), self.crop)), strict=True):
                self.rows[p] = row
        return np.stack([self.rows[int(p)] for p in positions])


def fit_and_score(model, rows: FeatureRows, train: np.ndarray, test: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Fit ``model`` on the ``train`` rows and return its (N_test, K) scores for the ``test`` rows."""
    model.fit(rows(train), targets[train])
    return np.asarray(model.predict_scores(rows(test)), dtype=np.float64)
