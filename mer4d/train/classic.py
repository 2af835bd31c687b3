"""One fold of a *classic* model (hand-crafted features + scikit-learn, see mer4d.models.registry).

No epochs and no augmentation: the model is fitted once on the training clips and scores the test
clips once. ``train.crop`` is applied as a centre crop to both, so a classic and a deep model of
one recipe see the same pixels at test time.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from mer4d.data.corpus import Corpus
from mer4d.recipes.schema import TrainCfg


def stack_clips(corpus: Corpus, positions: np.ndarray, crop: int | None, progress: bool, desc: str) -> np.ndarray:
    """(N, C, T, H, W) float32 of the given rows, centre-cropped to ``crop`` when set."""
    import torch

    from mer4d.train.augment import centre_crop

    clips = [corpus.load_clip(int(p)) for p in tqdm(positions, desc=desc, disable=not progress, leave=False, unit="clip")]
    stacked = np.stack(clips).astype(np.float32)
    return stacked if crop is None else centre_crop(torch.from_numpy(stacked), crop).numpy()


def fit_and_score(model, corpus: Corpus, train: np.ndarray, test: np.ndarray, targets: np.ndarray, cfg: TrainCfg, progress: bool) -> np.ndarray:
    """Fit ``model`` on the ``train`` rows and return its (N_test, K) scores for the ``test`` rows."""
    model.fit(stack_clips(corpus, train, cfg.crop, progress, "training clips"), targets[train], progress=progress)
    return np.asarray(model.predict_scores(stack_clips(corpus, test, cfg.crop, progress, "test clips")), dtype=np.float64)
