"""Datasets generated in code (no files): the toy clips of :mod:`mer4d.synth.toy`."""

from __future__ import annotations

import hashlib

import numpy as np

from mer4d.core.errors import DataError
from mer4d.data.corpus import Corpus
from mer4d.data.index import shuffle_labels as shuffled
from mer4d.data.index import validate_index


def toy_corpus(*, seed: int, frames: int, size: int, shuffle: bool, subjects: int = 6, clips_per_class: int = 6, num_classes: int = 3) -> Corpus:
    """Toy micro-expressions (:func:`mer4d.synth.toy.make_toy_clips`); ``frames``/``size`` come from
    ``sampling.frames``/``preprocess.size``, the other options from ``dataset.params``."""
    from mer4d.synth.toy import EMOTIONS, make_toy_clips

    index, clips = make_toy_clips(subjects=subjects, clips_per_class=clips_per_class, num_classes=num_classes, frames=frames, size=size, seed=seed)
    if shuffle:
        index = shuffled(index, seed)
    index = validate_index(index, source="toy dataset")
    clips.setflags(write=False)  # load_clip hands out copies; the array itself must never change

    def load_clip(position: int) -> np.ndarray:
        if not 0 <= position < len(clips):
            raise DataError(f"toy dataset: clip position {position} is out of range; expected 0 <= position < {len(clips)}")
        return clips[position].copy()

    digest = hashlib.sha256(clips.tobytes())
    digest.update("\n".join(index["emotion"]).encode())
    description = f"built-in toy generator: {subjects} subjects, {len(index)} clips, {num_classes} classes"
    if shuffle:
        description += ", labels SHUFFLED (control)"
    return Corpus(name="toy", index=index, classes=EMOTIONS[:num_classes], load_clip=load_clip, fingerprint=digest.hexdigest()[:16], description=description)


GENERATORS = {"toy": toy_corpus}
