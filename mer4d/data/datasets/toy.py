"""The "toy" dataset: clips generated in code by :mod:`mer4d.synth.toy` (no files, no root).

It has no scan: the clip pipeline asks the simulator for the clips and their Index directly
(``mer4d.pipeline.source``). Its options (``dataset.params``) are those of
:func:`mer4d.synth.toy.make_toy_clips` other than ``frames``, ``size`` and ``seed``, which come from
``sampling.frames``, ``preprocess.size`` and the recipe seed.
"""

from __future__ import annotations

from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register

TOY_CLASSES: tuple[str, ...] = ("surprise", "happiness", "disgust", "fear", "sadness")
"""Class names in class-index order; a toy set with K classes uses the first K."""

SPEC = register(DatasetSpec(
    name="toy",
    title="Built-in toy micro-expressions generated in code (no download); shuffle_labels=true is a chance-level control",
    scan=None,
    schemes={"own": LabelScheme.identity(TOY_CLASSES, "mer4d.synth.toy: one planted motion per class")},
    default_scheme="own",
    modalities={"gray": Modality("frames_dir")},
    writer="toy",
))
