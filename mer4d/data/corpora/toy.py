"""The "toy" dataset: :func:`mer4d.synth.toy.make_toy_clips` wrapped as a :class:`Corpus`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from mer4d.core.errors import DataError
from mer4d.data.corpora.registry import DATASETS
from mer4d.data.corpus import Corpus
from mer4d.data.index import shuffle_labels as shuffled
from mer4d.data.index import validate_index
from mer4d.synth.toy import EMOTIONS, make_toy_clips


@DATASETS.register("toy")
def load_toy(
    root: Path | None = None,
    *,
    seed: int = 0,
    subjects: int = 6,
    clips_per_class: int = 6,
    num_classes: int = 3,
    frames: int = 8,
    size: int = 32,
    shuffle_labels: bool = False,
) -> Corpus:
    """Built-in toy micro-expressions generated in code (no download); shuffle_labels=True is a chance-level control.

    Args:
        root: must be ``None``; the toy dataset has no files.
        seed: generation seed (and the label-permutation seed when ``shuffle_labels``).
        subjects, clips_per_class, num_classes, frames, size: see :func:`make_toy_clips`.
        shuffle_labels: permutation control. The emotion labels are permuted across all clips
            (class counts kept) with a seeded RNG, so a sound pipeline must score near chance;
            anything clearly above chance points to leakage between training and test data.

    Returns:
        a Corpus whose ``load_clip(i)`` gives a float32 (C=1, T, H, W) copy of clip ``i``.

    Raises:
        DataError: ``root`` was given, or a generator argument is out of range.
    """
    if root is not None:
        raise DataError(
            f"toy dataset: it is generated in code and takes no root, got root={str(root)!r}. "
            "Fix: remove dataset.root from the recipe (or the --set dataset.root=... override)."
        )
    if not isinstance(shuffle_labels, (bool, np.bool_)):
        raise DataError(f"toy dataset: shuffle_labels must be true or false, got {shuffle_labels!r}")
    index, clips = make_toy_clips(
        subjects=subjects, clips_per_class=clips_per_class, num_classes=num_classes, frames=frames, size=size, seed=seed
    )
    if shuffle_labels:
        index = shuffled(index, seed)
    index = validate_index(index, source="toy dataset")
    clips.setflags(write=False)  # load_clip hands out copies; the cache itself must never change

    def load_clip(position: int) -> np.ndarray:
        if not 0 <= position < len(clips):
            raise DataError(f"toy dataset: clip position {position} is out of range; expected 0 <= position < {len(clips)}")
        return clips[position].copy()

    digest = hashlib.sha256(clips.tobytes())
    digest.update("\n".join(index["emotion"]).encode())
    description = f"built-in toy generator: {subjects} subjects, {len(index)} clips, {num_classes} classes"
    if shuffle_labels:
        description += ", labels SHUFFLED (control)"
    return Corpus(
        name="toy",
        index=index,
        classes=EMOTIONS[:num_classes],
        load_clip=load_clip,
        fingerprint=digest.hexdigest()[:16],
        description=description,
    )
