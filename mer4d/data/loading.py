"""Recipe dataset section -> Corpus, through the dataset registry."""

from __future__ import annotations

from mer4d.core.options import check_options
from mer4d.data.corpora import DATASETS
from mer4d.data.corpus import Corpus
from mer4d.recipes.schema import DatasetCfg


def load_corpus(cfg: DatasetCfg, seed: int) -> Corpus:
    """Build the Corpus a recipe names (``dataset.name``, ``root``, ``params``)."""
    loader = DATASETS.get(cfg.name)
    check_options(loader, cfg.params, f"dataset.params (dataset '{cfg.name}')", reserved=("root", "seed"))
    return loader(cfg.root, seed=seed, **cfg.params)
