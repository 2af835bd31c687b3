"""One helper for optional heavy imports, with an install hint instead of a bare ImportError."""

from __future__ import annotations

import importlib
from types import ModuleType

from mer4d.core.errors import MissingDependencyError


def require(module: str, *, extra: str | None = None, purpose: str | None = None, hint: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` saying how to install it.

    Args:
        module: dotted module name, e.g. ``"mediapipe"``.
        extra: the mer4d extra that provides it (``pip install 'mer4d[extra]'``).
        purpose: what needs it, for the message ("face landmarks").
        hint: a custom install instruction, for packages without a wheel (PyTorch3D).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f"{purpose} needs" if purpose else "this feature needs"
        if hint is None:
            hint = f"pip install 'mer4d[{extra}]'" if extra else f"pip install {module.split('.')[0]}"
        raise MissingDependencyError(f"{what} the optional package '{module}', which is not importable ({exc}). Install it with: {hint}") from exc
