"""Recipe -> Corpus, through the dataset registry."""

from __future__ import annotations

import inspect

from mer4d.core.errors import RecipeError
from mer4d.core.options import check_options
from mer4d.data.corpora import DATASETS
from mer4d.data.corpus import Corpus
from mer4d.recipes.schema import Recipe

# Loader keyword -> the recipe key that supplies it (so a recipe states each setting once).
FROM_RECIPE = {"frames": "sampling.frames", "strategy": "sampling.strategy", "size": "preprocess.size", "render": "render", "face": "preprocess.face"}


def load_corpus(recipe: Recipe) -> Corpus:
    """Build the Corpus the recipe names (``dataset.name``, ``root``, ``params``).

    Loaders that take ``frames``, ``strategy``, ``size``, ``render`` or ``face`` get them from the
    recipe's ``sampling``, ``preprocess`` and ``render`` sections; giving them under
    ``dataset.params`` is an error, and so is enabling ``preprocess.face`` for a loader without it.
    """
    cfg = recipe.dataset
    loader = DATASETS.get(cfg.name)
    for key in FROM_RECIPE:
        if key in cfg.params:
            raise RecipeError(f"dataset.params.{key}: set {FROM_RECIPE[key]} instead (it is shared by every dataset)")
    check_options(loader, cfg.params, f"dataset.params (dataset '{cfg.name}')", reserved=("root", "seed", *FROM_RECIPE))
    accepted = inspect.signature(loader).parameters
    values = {"frames": recipe.sampling.frames, "strategy": recipe.sampling.strategy, "size": recipe.preprocess.size, "render": recipe.render.model_dump(),
              "face": recipe.preprocess.face.model_dump()}
    if recipe.preprocess.face.enabled and "face" not in accepted:
        raise RecipeError(f"preprocess.face.enabled: dataset '{cfg.name}' has no face alignment; set preprocess.face.enabled: false")
    shared = {k: v for k, v in values.items() if k in accepted}
    return loader(cfg.root, seed=recipe.seed, **shared, **cfg.params)
