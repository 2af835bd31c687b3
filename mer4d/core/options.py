"""Check user-supplied keyword options against a factory's signature before calling it."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mer4d.core.errors import RecipeError
from mer4d.core.registry import did_you_mean


def check_options(factory: Callable[..., Any], options: dict[str, Any], where: str, reserved: tuple[str, ...] = ()) -> None:
    """Raise :class:`RecipeError` naming the unknown option, with suggestions and the valid ones.

    ``reserved`` names arguments the caller supplies itself (e.g. ``num_classes``): a recipe may
    not set them.
    """
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and n not in reserved]
    for key in options:
        if key in reserved:
            raise RecipeError(f"{where}.{key} is set by mer4d itself and cannot be given in a recipe")
        if key not in valid:
            hint = did_you_mean(key, valid)
            raise RecipeError(f"{where}: unknown option '{key}'{hint} Valid options: {', '.join(valid) or 'none'}.")
