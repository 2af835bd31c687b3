"""Named-dimension shape contracts, checked at public entry points.

Dimension glossary used across mer4d: ``B`` batch, ``T`` time, ``V`` views, ``C`` channels,
``H``/``W`` height/width, ``N`` vertices, ``F`` faces, ``K`` classes. A spec is a space-separated
string; a symbol binds to the size it first meets and must agree wherever it repeats; an integer
must match exactly; ``*`` matches any one dimension and ``...`` any number of leading dimensions.
"""

from __future__ import annotations

from typing import Any

from mer4d.core.errors import ShapeError


def check_shape(x: Any, spec: str, name: str = "input", bound: dict[str, int] | None = None) -> dict[str, int]:
    """Check that ``x.shape`` matches ``spec`` and return the symbol sizes.

    Args:
        x: anything with a ``.shape`` (torch tensor, numpy array).
        spec: e.g. ``"B C T H W"`` or ``"... 3 H W"``.
        name: the argument name used in the error message.
        bound: sizes already known for some symbols (e.g. ``{"C": 1}``).

    Returns:
        mapping from each symbol to its size.

    Raises:
        ShapeError: saying the expected spec, the actual shape and the first mismatch.

    Example:
        >>> import numpy as np
        >>> check_shape(np.zeros((2, 1, 8, 32, 32)), "B C T H W")
        {'B': 2, 'C': 1, 'T': 8, 'H': 32, 'W': 32}
    """
    shape = getattr(x, "shape", None)
    if shape is None:
        raise ShapeError(f"{name}: expected an array or tensor of shape ({spec}), got {type(x).__name__}", spec, None)
    actual = tuple(int(s) for s in shape)
    tokens = spec.split()
    if tokens and tokens[0] == "...":
        tokens = tokens[1:]
        if len(actual) < len(tokens):
            raise _mismatch(name, spec, actual, f"expected at least {len(tokens)} dimensions, got {len(actual)}")
        actual_tail = actual[len(actual) - len(tokens):]
    else:
        if len(actual) != len(tokens):
            raise _mismatch(name, spec, actual, f"expected {len(tokens)} dimensions, got {len(actual)}")
        actual_tail = actual
    sizes = dict(bound or {})
    for token, size in zip(tokens, actual_tail, strict=True):
        if token == "*":
            continue
        if token.isdigit():
            if size != int(token):
                raise _mismatch(name, spec, actual, f"dimension '{token}' must be {token}, got {size}")
            continue
        if token in sizes and sizes[token] != size:
            raise _mismatch(name, spec, actual, f"dimension '{token}' is {sizes[token]} elsewhere but {size} here")
        sizes[token] = size
    return sizes


def _mismatch(name: str, spec: str, actual: tuple[int, ...], detail: str) -> ShapeError:
    return ShapeError(f"{name}: expected shape ({', '.join(spec.split())}), got {actual}: {detail}", spec, actual)
