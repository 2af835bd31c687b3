"""Error hierarchy.

Every mer4d error also subclasses the builtin a caller would naturally catch (``ValueError`` for
bad values, ``KeyError`` for unknown names, ``ImportError`` for a missing package), so generic
``except ValueError`` code keeps working. Messages say what was expected, what was found and how
to fix it; the CLI prints them without a traceback.
"""

from __future__ import annotations


class Mer4dError(Exception):
    """Base class of every error mer4d raises on purpose."""


class RecipeError(Mer4dError, ValueError):
    """A recipe file, profile or ``--set`` override is invalid."""


class ShapeError(Mer4dError, ValueError):
    """A tensor or array does not have the documented shape."""

    def __init__(self, message: str, expected: str | None = None, actual: tuple[int, ...] | None = None):
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class DataError(Mer4dError, ValueError):
    """Dataset files, label tables or indexes are missing, malformed or inconsistent."""


class ProtocolError(Mer4dError, ValueError):
    """An evaluation protocol cannot be built from the given index (e.g. too few subjects)."""


class UnknownNameError(Mer4dError, KeyError):
    """A registry lookup missed. ``str()`` gives the plain message (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(Mer4dError, ImportError):
    """An optional package is needed for this feature and is not installed."""


class TrackingError(Mer4dError, RuntimeError):
    """The MLflow store cannot be used as asked (unknown run to resume, bad URI, ...)."""
