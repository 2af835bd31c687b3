"""Layer 0: errors, shape checks, registries and optional-dependency helpers. Imports no mer4d module."""

from mer4d.core.errors import (
    DataError,
    Mer4dError,
    MissingDependencyError,
    ProtocolError,
    RecipeError,
    ShapeError,
    TrackingError,
    UnknownNameError,
)
from mer4d.core.optional import require
from mer4d.core.registry import Registry
from mer4d.core.shapes import check_shape

__all__ = [
    "DataError",
    "Mer4dError",
    "MissingDependencyError",
    "ProtocolError",
    "RecipeError",
    "Registry",
    "ShapeError",
    "TrackingError",
    "UnknownNameError",
    "check_shape",
    "require",
]
