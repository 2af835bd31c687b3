"""The label Index an analysis reads: a dataset root, or the dataset's built-in simulator when none is given.

The same source as ``mer4d run`` (:func:`mer4d.pipeline.source.locate`: the simulator's folder is
generated into the cache once and reused), read with the dataset's own scan. Nothing else of the
clip pipeline runs: no file check of the frames, no face stage, no rendering, so an analysis of
labels takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError, RecipeError
from mer4d.data.problems import Problem
from mer4d.data.spec import DatasetSpec


@dataclass(frozen=True)
class LabelSource:
    """A dataset's label Index, with where it came from.

    Attributes:
        spec: the dataset's registered spec.
        index: the Index (``dataset.kind`` selected; relabelled when a label scheme was named).
        origin: one line: the root, or the simulator and its cache folder.
        multilabel: the ``emotion`` column joins several classes (4DME: ``Surprise+Positive``).
        scheme: the label scheme named (``None``: the dataset's own labels as the Index holds them).
        notes: caveats for the report (problems the scan found, clips a scheme omitted).
        problems: what the scan reported.
    """

    spec: DatasetSpec
    index: pd.DataFrame
    origin: str
    multilabel: bool
    scheme: str | None
    notes: tuple[str, ...]
    problems: tuple[Problem, ...]
    simulated: bool


def label_index(name: str, root: Path | None = None, *, params: dict | None = None, kind: str = "micro", labels: str | None = None,
                simulator_size: str = "quick", simulator_seed: int = 0, seed: int = 0) -> LabelSource:
    """The label Index of dataset ``name`` at ``root`` (None: its simulator), clips of ``kind`` (micro, macro, all).

    Raises:
        DataError: an unknown dataset or option, a dataset generated in code (toy: no label file, no
            AUs), a root whose labels cannot be read, or no clip of ``kind``.
    """
    from pydantic import ValidationError

    from mer4d.pipeline.build import select_kind
    from mer4d.pipeline.labels import apply_scheme
    from mer4d.pipeline.source import locate, scan_source
    from mer4d.recipes.schema import DatasetCfg
    from mer4d.recipes.validation import describe_validation_error

    try:
        cfg = DatasetCfg.model_validate({"name": name, "root": root, "params": params or {}, "kind": kind, "labels": labels,
                                         "simulator": {"size": simulator_size, "seed": simulator_seed}})
    except ValidationError as exc:
        raise RecipeError(describe_validation_error(exc, f"dataset {name!r}")) from None
    source = locate(cfg)
    if source.root is None:
        raise DataError(f"dataset {name!r} is generated in code: it has no label file and no AU codes to analyse; "
                        "choose a dataset with a label sheet ('mer4d data list')")
    index, problems = scan_source(source, cfg.params, seed)
    index = select_kind(index, kind, source)
    notes = []
    fatal = [p for p in problems if p.severity == "fatal"]
    if problems:
        notes.append(f"the scan reported {len(fatal)} fatal problem(s) (those rows are not in the Index) and {len(problems) - len(fatal)} "
                     f"warning(s); 'mer4d data check --dataset {name} --root {source.root}' lists them")
    scheme = source.spec.scheme(labels if labels is not None else "own" if "own" in source.spec.schemes else None)
    if labels is not None:
        index, scheme, note = apply_scheme(index, source.spec, labels)
        notes.append(note)
    return LabelSource(source.spec, index, source.origin, scheme.multilabel, labels, tuple(notes), tuple(problems), cfg.root is None)
