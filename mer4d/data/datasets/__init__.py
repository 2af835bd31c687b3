"""Dataset specs, one module each; importing this package registers them all in ``DATASETS``.

Adding a dataset = one module here (its scan + ``register(DatasetSpec(...))``) and its name below
(docs/adding_a_dataset.md).
"""

from importlib import import_module

_MODULES: tuple[str, ...] = ("mmew",)

for _name in _MODULES:
    import_module(f"{__name__}.{_name}")
