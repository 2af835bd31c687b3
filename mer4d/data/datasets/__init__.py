"""Dataset specs, one module each; importing this package registers them all in ``DATASETS``.

Adding a dataset = one module here (its scan + ``register(DatasetSpec(...))``) and its name below
(docs/adding_a_dataset.md). ``megc2019`` comes after the three datasets it is built from.
"""

from importlib import import_module

from mer4d.data.spec import DATASETS

_MODULES: tuple[str, ...] = ("toy", "fourdme", "casme2", "samm", "smic", "casme3", "mmew", "megc2019", "dfme")

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")

__all__ = ["DATASETS"]
