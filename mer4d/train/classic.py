"""One fold of a *classic* model (hand-crafted features + scikit-learn, see mer4d.models.registry).

No epochs and no augmentation: the model is fitted once on the training clips and scores the test
clips once. ``train.crop`` is applied as a centre crop to both, so a classic and a deep model of
one recipe see the same pixels at test time.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mer4d.core.progress import progress_bar
from mer4d.data.cache import ArrayCache
from mer4d.data.corpus import Corpus

FEATURES = ArrayCache("features", version=1)  # bump when the row layout of an entry changes


def stack_clips(corpus: Corpus, positions: np.ndarray, crop: int | None) -> np.ndarray:
    """(N, C, T, H, W) float32 of the given rows, centre-cropped to ``crop`` when set."""
    import torch

    from mer4d.train.augment import centre_crop

    stacked = np.stack([corpus.load_clip(int(p)) for p in positions]).astype(np.float32)
    return stacked if crop is None else centre_crop(torch.from_numpy(stacked), crop).numpy()


def _one_row(arrays: dict[str, np.ndarray]) -> None:
    if arrays.get("row") is None or arrays["row"].ndim != 1:
        raise ValueError(f"expected one 1-D array 'row', found {sorted(arrays)}")


def code_stamp(model: object) -> str:
    """sha256 over the source of the model's module and of every mer4d module it draws names from
    (for LBP-TOP: ``preprocess/lbptop.py``), so editing the feature code is a new cache entry."""
    module = sys.modules[type(model).__module__]
    names = {module.__name__}
    for value in vars(module).values():
        owner = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None)
        if isinstance(owner, str) and owner.startswith("mer4d."):
            names.add(owner)
    digest = hashlib.sha256()
    for name in sorted(names):
        source = inspect.getsourcefile(sys.modules[name])
        digest.update(name.encode() + (Path(source).read_bytes() if source else b""))
    return digest.hexdigest()


class FeatureRows:
    """A classic model's feature rows of a corpus, computed on first use and kept for later folds
    (every clip is a training clip in most folds; its features do not depend on the fold).

    Rows are also kept in the on-disk cache (``features`` area), one entry per clip keyed by the
    exact input array (after the centre crop), the model's name and options and its code stamp, so
    a second run of the same recipe reuses the histograms, and any change to what they are made
    from is a new entry.
    """

    def __init__(self, model, corpus: Corpus, crop: int | None, progress: bool, settings: Mapping[str, object] | None = None):
        self.model, self.corpus, self.crop, self.progress = model, corpus, crop, progress
        self.settings = {"model": type(model).__qualname__, "options": dict(settings or {}), "code": code_stamp(model)}
        self.rows: dict[int, np.ndarray] = {}

    def _key(self, clip: np.ndarray) -> str:
        content = hashlib.sha256(np.ascontiguousarray(clip).tobytes()).hexdigest()
        return FEATURES.key(**self.settings, input=[content, list(clip.shape), str(clip.dtype)])

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        missing = [int(p) for p in positions if int(p) not in self.rows]
        for start in progress_bar(range(0, len(missing), 32), desc="features", disable=not self.progress or not missing, leave=False, unit="batch"):
            chunk = missing[start : start + 32]
            clips = stack_clips(self.corpus, np.array(chunk), self.crop)
            keys = [self._key(clip) for clip in clips]
            todo = []
            for j, (p, key) in enumerate(zip(chunk, keys, strict=True)):
                found = FEATURES.load(key, check=_one_row, what=f"features of clip {self.corpus.index['clip_id'].iloc[p] if 'clip_id' in self.corpus.index else p}")
                if found is None:
                    todo.append(j)
                else:
                    self.rows[p] = found["row"]
            if todo:
                for j, row in zip(todo, self.model.features(clips[todo]), strict=True):
                    self.rows[chunk[j]] = row
                    FEATURES.store(keys[j], {"row": np.asarray(row)})
        return np.stack([self.rows[int(p)] for p in positions])


def fit_and_score(model, rows: FeatureRows, train: np.ndarray, test: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Fit ``model`` on the ``train`` rows and return its (N_test, K) scores for the ``test`` rows."""
    model.fit(rows(train), targets[train])
    return np.asarray(model.predict_scores(rows(test)), dtype=np.float64)
