"""Recipe schema and loading. The YAML files themselves live in the top-level ``recipes/`` folder.

Importing this package imports pydantic and yaml only: a recipe is validated before anything
heavy (torch, mlflow, renderers) is imported.
"""

from mer4d.recipes.load import LoadedRecipe, find_recipe, list_recipes, load_recipe
from mer4d.recipes.schema import Recipe

__all__ = ["LoadedRecipe", "Recipe", "find_recipe", "list_recipes", "load_recipe"]
