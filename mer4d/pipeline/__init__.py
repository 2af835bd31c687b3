"""The clip pipeline: from a recipe's dataset section to the Corpus a model trains on (see build.py)."""

from mer4d.pipeline.build import load_corpus, open_dataset
from mer4d.pipeline.source import simulated_dataset

__all__ = ["load_corpus", "open_dataset", "simulated_dataset"]
