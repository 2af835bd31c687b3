"""Dataset loaders, registered by name in :data:`DATASETS` (see :mod:`mer4d.data.corpora.registry`)."""

from mer4d.data.corpora import toy  # noqa: F401  (registers "toy")
from mer4d.data.corpora.registry import DATASETS

__all__ = ["DATASETS"]
