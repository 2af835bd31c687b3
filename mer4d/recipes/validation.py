"""Turn pydantic's validation errors into one readable message per problem."""

from __future__ import annotations

from pydantic import ValidationError

_EXPECTED = {
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "int_type": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list (e.g. [a, b])",
    "dict_type": "a mapping",
    "model_type": "a mapping of keys",
    "path_type": "a path",
}


def describe_validation_error(exc: ValidationError, origin: str, sources: dict[str, str] | None = None) -> str:
    """``train.epochs: expected an integer, got 'abc'`` for each error, prefixed by the source.

    ``sources`` maps dotted keys to where their value came from (``"--set train.epochs=abc"``).
    """
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "the recipe"
        kind = err["type"]
        got = err.get("input")
        if kind == "missing":
            lines.append(f"{key}: required key is missing")
        elif kind in _EXPECTED:
            lines.append(f"{key}: expected {_EXPECTED[kind]}, got {got!r}")
        elif kind == "literal_error":
            allowed = err.get("ctx", {}).get("expected", "")
            lines.append(f"{key}: expected one of {allowed}, got {got!r}")
        else:
            lines.append(f"{key}: {err['msg']} (got {got!r})")
    sources = sources or {}
    lines = [f"{line} (from {sources[line.split(':')[0]]})" if line.split(":")[0] in sources else line for line in lines]
    return f"{origin}: invalid recipe:\n  " + "\n  ".join(lines)
