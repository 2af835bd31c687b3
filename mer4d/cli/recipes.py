"""``mer4d recipes list|show``."""

from __future__ import annotations

import click

from mer4d.cli.options import overrides_option, profile_option


@click.group()
def recipes() -> None:
    """List recipes or print one resolved."""


@recipes.command("list")
def list_() -> None:
    """Recipes in ./recipes and in the mer4d repository, with their description."""
    from mer4d.recipes.load import list_recipes, read_yaml

    for path in list_recipes():
        data = read_yaml(path)
        profiles = ", ".join(data.get("profiles") or {}) or "-"
        click.echo(f"{path.stem:28s} {str(data.get('description', '')):70.70s}  profiles: {profiles}")


@recipes.command("show")
@click.argument("recipe")
@overrides_option
@profile_option
def show(recipe: str, overrides: tuple[str, ...], profile: str | None) -> None:
    """Print RECIPE fully resolved (extends, profile and --set applied) as YAML; unknown models,
    datasets and options fail here exactly as they would in ``mer4d run``."""
    from mer4d.pipeline.source import check_dataset_cfg
    from mer4d.recipes.load import load_recipe, recipe_to_yaml
    from mer4d.train.runner import check_recipe_fits

    loaded = load_recipe(recipe, overrides, profile)
    check_dataset_cfg(loaded.recipe.dataset)
    check_recipe_fits(loaded.recipe)
    click.echo(f"# {loaded.source} | profile: {loaded.profile}" + (f" ({loaded.profile_reason})" if loaded.profile_reason else ""))
    click.echo(recipe_to_yaml(loaded.recipe), nl=False)
