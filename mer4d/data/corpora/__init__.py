"""Dataset loaders, registered by name in :data:`DATASETS` (see :mod:`mer4d.data.corpora.registry`)."""

from mer4d.data.corpora import fourdme, toy  # noqa: F401  (register "4dme", "toy")
from mer4d.data.corpora.registry import DATASETS

__all__ = ["DATASETS"]
