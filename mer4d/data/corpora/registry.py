"""The dataset registry and the loader contract every dataset follows.

A registry entry is a loader ``(root: Path | None, *, seed: int, **params) -> Corpus``:

* ``root``: where the dataset lives on disk, or ``None`` for datasets generated in code (a
  loader that needs files raises :class:`mer4d.core.DataError` when it is missing, and one that
  generates raises when it is given).
* ``seed``: the only source of randomness in loading (generation, label-permutation controls).
* ``**params``: dataset-specific options from the recipe; unknown ones are an error.

The loader's one-line docstring is what ``mer4d data list`` shows. Entries are added by explicit
imports in :mod:`mer4d.data.corpora`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mer4d.core.registry import Registry

DATASETS: Registry[Callable[..., Any]] = Registry("dataset", list_command="mer4d data list")
