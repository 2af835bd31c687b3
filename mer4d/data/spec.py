"""What a dataset *is*: a registered :class:`DatasetSpec` (how clips are *made* lives in the clip pipeline).

A spec scans a root folder into the Index (:mod:`mer4d.data.index`) plus a problem list, and
declares the dataset's label schemes, the modalities its Index points at and the simulator
writer that lays out a stand-in when no root is given. Spec modules (``mer4d/data/datasets/``)
read label files and list folders; they import nothing from ``preprocess``, ``render`` or
``models`` (an import-linter contract in ``pyproject.toml`` holds them to it).

Index conventions every spec follows (datasets.md §0):

* ``emotion`` is the dataset's own label, lower-cased and stripped (``Other`` -> ``other``); a
  :class:`LabelScheme` maps it to the classes a recipe trains on;
* ``onset/apex/offset`` are the frame numbers *as the frame files are numbered* (absolute for
  CASME II, SAMM, SMIC, CAS(ME)^3, 4DME; 1-based within the clip for MMEW; 0-based for DFME);
* a modality's folder is in the Index column its :class:`Modality` names, ``None`` when absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.core.registry import Registry
from mer4d.data.problems import Problem

Scan = Callable[..., tuple[pd.DataFrame, list[Problem]]]  # (root: Path, **options) -> (Index, problems)


@dataclass(frozen=True)
class Modality:
    """Where one modality of a clip lives and how its files are read.

    Attributes:
        column: Index column holding the clip's folder (``"frames_dir"``, ``"depth_dir"``, ...).
        reader: ``frames`` (images), ``depth`` (16-bit PNG, millimetres) or ``mesh`` (OBJ/PLY per frame).
        color: for ``frames``: read as ``gray`` or ``rgb``.
        scale: annotation frame number // ``scale`` = file frame number (4DME's 30 fps Kinect: 2).
        fps: frame rate of the files; None -> the row's ``fps``.
    """

    column: str
    reader: Literal["frames", "depth", "mesh"] = "frames"
    color: Literal["gray", "rgb"] = "gray"
    scale: int = 1
    fps: float | None = None


@dataclass(frozen=True)
class LabelScheme:
    """A label set a recipe can train on, and how the dataset's own emotions map into it.

    Attributes:
        classes: the fixed, ordered classes (metrics always use all of them).
        mapping: dataset emotion (as in the Index) -> class, or ``None`` to omit the clip
            (counted and reported, never silently). An emotion missing from the mapping is an error.
        source: where the mapping comes from (paper, challenge guideline), shown in docs and runs.
        multilabel: the Index column ``emotions`` (lists) is the label, not ``emotion``.
    """

    classes: tuple[str, ...]
    mapping: Mapping[str, str | None]
    source: str
    multilabel: bool = False

    def __post_init__(self) -> None:
        stray = sorted({c for c in self.mapping.values() if c is not None} - set(self.classes))
        if stray:
            raise ValueError(f"label scheme maps to {stray}, which are not among its classes {self.classes}")
        object.__setattr__(self, "mapping", MappingProxyType(dict(self.mapping)))

    @classmethod
    def identity(cls, classes: tuple[str, ...], source: str, multilabel: bool = False) -> LabelScheme:
        return cls(tuple(classes), {c: c for c in classes}, source, multilabel)


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset, as registered in :data:`DATASETS`.

    Attributes:
        name: registry name (``"casme2"``); the Index's ``dataset`` column holds it.
        title: one line for ``mer4d data list``.
        scan: ``scan(root, **options) -> (Index, problems)``; options are its keyword arguments,
            set from ``dataset.params`` (an unknown one is an error naming the accepted ones).
        schemes: label scheme name -> :class:`LabelScheme`; ``default_scheme`` names the usual one.
        modalities: modality name (``gray``, ``rgb``, ``depth``, ``mesh``) -> :class:`Modality`.
        writer: the simulator kind (``mer4d data synth --kind``) that writes this layout, or None.
        default_modality: used when a recipe names none.
        folds: how the dataset's own ``fold`` column (if any) should be read; free text for docs.
    """

    name: str
    title: str
    scan: Scan
    schemes: Mapping[str, LabelScheme]
    default_scheme: str
    modalities: Mapping[str, Modality]
    default_modality: str = "gray"
    writer: str | None = None
    folds: str = ""
    extra: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.default_scheme not in self.schemes:
            raise ValueError(f"dataset {self.name}: default scheme {self.default_scheme!r} is not among {sorted(self.schemes)}")
        if self.default_modality not in self.modalities:
            raise ValueError(f"dataset {self.name}: default modality {self.default_modality!r} is not among {sorted(self.modalities)}")

    def scheme(self, name: str | None) -> LabelScheme:
        name = name or self.default_scheme
        if name not in self.schemes:
            from mer4d.core.registry import did_you_mean

            raise DataError(f"dataset {self.name}: unknown label scheme {name!r}{did_you_mean(name, self.schemes)}; "
                            f"expected one of {sorted(self.schemes)} (dataset.labels in the recipe)")
        return self.schemes[name]

    def run_scan(self, root: Path, seed: int = 0, **options: object) -> tuple[pd.DataFrame, list[Problem]]:
        """``scan(root, **options)``, with ``seed`` passed only to scans that take one (4DME's generated folds)."""
        import inspect

        extra = {"seed": seed} if "seed" in inspect.signature(self.scan).parameters else {}
        return self.scan(root, **extra, **options)

    def modality(self, name: str | None) -> Modality:
        name = name or self.default_modality
        if name not in self.modalities:
            raise DataError(f"dataset {self.name}: no modality {name!r}; it has {sorted(self.modalities)} (dataset.modalities in the recipe)")
        return self.modalities[name]


DATASETS: Registry[DatasetSpec] = Registry("dataset", list_command="mer4d data list")


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to :data:`DATASETS` (called once at the bottom of each dataset module)."""
    DATASETS.register(spec.name)(spec)
    return spec


def require_root(root: Path | str, dataset: str) -> Path:
    """``root`` as a Path, or a DataError when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{dataset}: dataset.root {root} is not a folder; point it at the folder holding the dataset's label file")
    return root
