"""Load a YAML recipe: one ``extends:`` level, a profile, ``--set`` overrides, then validation.

Resolution order (later wins): the ``extends`` base -> the recipe file -> the profile -> ``--set``.
When no profile is named and the recipe has no ``dataset.root`` (built-in data), the ``quick``
profile applies, because published settings do not fit a 2-core CPU. ``published`` is the
reserved profile name meaning "no overrides: exactly the paper's settings".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mer4d.core.errors import RecipeError
from mer4d.core.registry import suggest
from mer4d.recipes.overrides import check_mapping_keys, deep_merge, parse_override, set_path
from mer4d.recipes.schema import Recipe
from mer4d.recipes.validation import describe_validation_error

PUBLISHED = "published"
AUTO_PROFILE = "quick"


@dataclass(frozen=True)
class LoadedRecipe:
    """A validated recipe plus how it was resolved (logged with every run)."""

    recipe: Recipe
    source: Path
    profile: str  # the applied profile name, or "published"
    profile_reason: str  # "named with --profile", "default without dataset.root", ...
    overrides: tuple[str, ...]

    def banner(self) -> str:
        """One line saying which data and settings a run uses and how to get the paper's."""
        ds = self.recipe.dataset
        data = f"dataset '{ds.name}' at {ds.root}" if ds.root else f"built-in data for '{ds.name}' (no dataset.root given)"
        if self.profile == PUBLISHED:
            settings = "published settings"
        else:
            settings = f"profile '{self.profile}' ({self.profile_reason}); for the published settings add --profile {PUBLISHED}"
        return f"mer4d: {data}; {settings}"


def recipe_dirs() -> list[Path]:
    """Where recipe names are looked up: ./recipes, then the repository's recipes/ folder."""
    dirs = [Path.cwd() / "recipes", Path(__file__).resolve().parents[2] / "recipes"]
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.append(d.resolve())
    return seen


def list_recipes() -> list[Path]:
    """Every ``*.yaml`` recipe in :func:`recipe_dirs`, first folder winning on name clashes."""
    found: dict[str, Path] = {}
    for d in recipe_dirs():
        for path in sorted(d.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return [found[k] for k in sorted(found)]


def find_recipe(name_or_path: str | Path) -> Path:
    """Resolve a recipe file path or a bare name such as ``toy_smoke``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for d in recipe_dirs():
        for candidate in (d / path.name, d / f"{path.name}.yaml"):
            if candidate.is_file():
                return candidate
    names = [p.stem for p in list_recipes()]
    close = suggest(path.stem, names)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise RecipeError(f"recipe '{name_or_path}' not found (not a file, and not a name in {[str(d) for d in recipe_dirs()]}).{hint} 'mer4d recipes list' shows them.")


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise RecipeError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise RecipeError(f"{path}: cannot read the recipe: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RecipeError(f"{path}: a recipe is a mapping of sections (name:, dataset:, model:, ...), found a {type(data).__name__}")
    return data


def read_with_base(path: Path) -> dict[str, Any]:
    """The recipe file merged over its ``extends:`` base (one level only)."""
    data = read_yaml(path)
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data
    base_path = (path.parent / str(base_ref)).resolve()
    if not base_path.is_file():
        raise RecipeError(f"{path}: extends '{base_ref}', but {base_path} does not exist")
    base = read_yaml(base_path)
    if "extends" in base:
        raise RecipeError(
            f"{path}: extends {base_path.name}, which itself extends '{base['extends']}'. Only one extends level is allowed: "
            "copy the settings you need into the base instead of chaining."
        )
    return deep_merge(base, data)


def validate(data: dict[str, Any], origin: str, sources: dict[str, str] | None = None) -> Recipe:
    check_mapping_keys(data, origin)
    try:
        return Recipe.model_validate(data)
    except ValidationError as exc:
        raise RecipeError(describe_validation_error(exc, origin, sources)) from None


def load_recipe(recipe: str | Path, overrides: tuple[str, ...] | list[str] = (), profile: str | None = None) -> LoadedRecipe:
    """Resolve and validate a recipe.

    Args:
        recipe: a file path or a recipe name from :func:`list_recipes`.
        overrides: ``KEY=VALUE`` strings (``--set``), applied last.
        profile: a profile name from the recipe's ``profiles``, ``"published"`` for none, or
            None for the default rule (``quick`` when no ``dataset.root``).

    Raises:
        RecipeError: naming the file, key, expected type and a suggestion.
    """
    path = find_recipe(recipe)
    data = read_with_base(path)
    parsed = [(text, *parse_override(text)) for text in overrides]
    for text, key_path, _ in parsed:
        check_mapping_keys(set_path({}, key_path, None), f"--set {text}")

    with_overrides = data
    for _, key_path, value in parsed:
        with_overrides = set_path(with_overrides, key_path, value)
    profiles = with_overrides.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise RecipeError(f"{path}: 'profiles' must map profile names to partial recipes, found {type(profiles).__name__}")
    for pname, pdata in profiles.items():
        if not isinstance(pdata, dict):
            raise RecipeError(f"{path}: profile '{pname}' must be a mapping of overrides, found {type(pdata).__name__}")
        check_mapping_keys(pdata, f"{path}: profile '{pname}'")

    has_root = bool((with_overrides.get("dataset") or {}).get("root"))
    if profile is None:
        chosen, reason = (AUTO_PROFILE, "default without dataset.root") if not has_root and AUTO_PROFILE in profiles else (PUBLISHED, "")
    elif profile == PUBLISHED:
        chosen, reason = PUBLISHED, "named with --profile"
    elif profile in profiles:
        chosen, reason = profile, "named with --profile"
    else:
        close = suggest(profile, [*profiles, PUBLISHED])
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise RecipeError(f"{path}: no profile '{profile}'; this recipe has {sorted([*profiles, PUBLISHED])}.{hint}")

    merged = data if chosen == PUBLISHED else deep_merge(data, profiles[chosen])
    for _, key_path, value in parsed:
        merged = set_path(merged, key_path, value)
    sources = {".".join(key_path): f"--set {text}" for text, key_path, _ in parsed}
    if chosen != PUBLISHED:
        sources.update({key: f"profile '{chosen}'" for key in flatten(profiles[chosen]) if key not in sources})
    validated = validate(merged, str(path), sources)
    return LoadedRecipe(validated, path, chosen, reason, tuple(overrides))


def recipe_to_yaml(recipe: Recipe) -> str:
    """The resolved recipe as YAML (profiles kept, so the file is a complete record).

    ``repeats`` and ``control`` are left out at their defaults, so a run started before they
    existed still matches its recipe on ``--resume``."""
    data = recipe.model_dump(mode="json")
    for key, default in (("repeats", None), ("control", "none")):
        if data.get(key) == default:
            data.pop(key, None)
    return yaml.safe_dump(data, sort_keys=False)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"train": {"lr": 0.1}} -> {"train.lr": 0.1}``; lists become their string form."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out
