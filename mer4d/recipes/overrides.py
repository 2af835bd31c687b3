"""Dotted ``--set a.b=c`` overrides, deep merging and schema-aware key checks."""

from __future__ import annotations

import copy
import re
import typing
from typing import Any

import yaml
from pydantic import BaseModel

from mer4d.core.errors import RecipeError
from mer4d.core.registry import suggest
from mer4d.recipes.schema import FREE_FORM_KEYS, Recipe


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: mappings merge key by key, anything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_EXPONENT_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"train.lr=0.01"`` into (["train", "lr"], 0.01); the value is read as YAML.

    YAML typing gives the coercion a shell user expects: ``3`` is an int, ``1e-3`` a float,
    ``[front,left]`` a list, ``null`` None; pydantic then checks it against the schema.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. --set train.epochs=5")
    path = key.strip().split(".")
    if any(not part for part in path):
        raise RecipeError(f"--set {text!r}: empty part in the dotted key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not valid YAML (e.g. an unbalanced bracket): keep the literal string
    # YAML 1.1 reads 1e-3 as a string (it wants 1.0e-3); researchers type 1e-3.
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        value = float(value)
    return path, value


def section_type(annotation: Any) -> Any:
    """The section model of an optional section (``PretrainCfg | None`` -> ``PretrainCfg``), else the annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0]
    return annotation


def check_key_path(path: list[str], origin: str, model: type[BaseModel] = Recipe) -> None:
    """Raise a :class:`RecipeError` with a suggestion when ``path`` names no schema field."""
    for depth, part in enumerate(path):
        if tuple(path[:depth]) in FREE_FORM_KEYS:
            return
        fields = model.model_fields
        if part not in fields:
            where = ".".join(path[:depth]) or "the recipe"
            close = suggest(part, list(fields))
            hint = f"; did you mean '{'.'.join([*path[:depth], close[0]])}'?" if close else ""
            raise RecipeError(f"{origin}: unknown key '{part}' in {where}{hint} Valid keys there: {', '.join(fields)}.")
        annotation = section_type(fields[part].annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        elif depth < len(path) - 1 and tuple(path[: depth + 1]) not in FREE_FORM_KEYS:
            raise RecipeError(f"{origin}: '{'.'.join(path[: depth + 1])}' is a value, it has no sub-key '{path[depth + 1]}'")


def set_path(data: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` written at the dotted ``path``."""
    replaced = copy.deepcopy(data)
    cursor = replaced
    for part in path[:-1]:
        if not isinstance(cursor.get(part), dict):
            cursor[part] = {}
        cursor = cursor[part]
    cursor[path[-1]] = copy.deepcopy(value)  # --set replaces a mapping value, it does not merge into it
    return replaced


def check_mapping_keys(data: dict[str, Any], origin: str, prefix: tuple[str, ...] = ()) -> None:
    """Check every key of a (partial) recipe mapping against the schema, recursively."""
    for key, value in data.items():
        path = [*prefix, str(key)]
        check_key_path(path, origin)
        if isinstance(value, dict) and tuple(path) not in FREE_FORM_KEYS:
            check_mapping_keys(value, origin, tuple(path))
