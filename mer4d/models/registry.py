"""The model registry and the contract every registered model follows.

A registry entry is a factory ``(num_classes: int, in_channels: int, **params) -> nn.Module``
whose one-line docstring is what ``mer4d models list`` shows. A factory that also takes
``num_aus`` learns AUs next to the task's labels (AU-graph): the runner passes the number of AU
detection classes of the data and trains with their targets too. Name the options as keyword
parameters with defaults (no ``**kwargs``), so a misspelt recipe option is caught with a
did-you-mean before any training starts. Entries are added by explicit
imports in :mod:`mer4d.models` (no import-time discovery), so the registry is the same wherever
it is used.

Every model the factories return must:

* ``forward(x)``: clips of shape (B, C, T, H, W), float32, C == ``in_channels`` -> logits (B, K).
  The input shape and channel count are checked with :func:`mer4d.core.check_shape` and a wrong
  input raises :class:`mer4d.core.ShapeError` naming the expected and the actual shape.
* ``forward_features(x)``: same input -> pooled features (B, num_features), the input of the
  classifier head (for linear probes, embeddings and transfer).
* ``num_features``: int attribute, the width of those features.
* ``reset_classifier(num_classes)``: replace the head with a fresh one producing ``num_classes``
  logits (fine-tuning on a corpus with another label set).
* give every parameter a gradient from a loss on the logits (no dead branches), which
  ``tests/models/test_registry_contract.py`` checks for every entry.

*Classic* entries (hand-crafted features + a scikit-learn classifier, e.g. ``lbptop_svm``) are
not torch modules. Their factory and objects set ``classic = True``, and the objects provide:

* ``features(clips, progress=False)``: clips (N, C, T, H, W) float numpy -> (N, F) rows; a pure
  function of each clip (the runner computes them once per clip and reuses them across folds).
* ``fit(features, targets)``: targets (N,) class ids or (N, K) multi-hot -> self; everything
  fitted (scalers included) sees the training fold's rows only.
* ``predict_scores(features)``: (N, K) scores in [0, 1] whose 0.5 is the classifier's own boundary.

The runner trains them once per fold (no epochs, no augmentation; ``train.crop`` centre-crops);
``tests/models/test_classic_contract.py`` checks them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mer4d.core.options import check_options
from mer4d.core.registry import Registry

MODELS: Registry[Callable[..., Any]] = Registry("model", list_command="mer4d models list")


def check_model_params(name: str, params: dict[str, Any]) -> Callable[..., Any]:
    """The factory of ``name``, after checking ``params`` against its signature (no model built)."""
    factory = MODELS.get(name)
    check_options(factory, params, f"model.params (model '{name}')", reserved=("num_classes", "in_channels", "num_aus"))
    return factory


def is_classic(name: str) -> bool:
    """Whether ``name`` is a classic (scikit-learn) entry; its factory carries ``classic = True``."""
    return bool(getattr(MODELS.get(name), "classic", False))


def learns_aus(name: str) -> bool:
    """Whether ``name``'s factory takes ``num_aus``: it learns AUs next to the task's labels (AU-graph)."""
    return "num_aus" in inspect.signature(MODELS.get(name)).parameters


def build_model(name: str, *, num_classes: int, in_channels: int, num_aus: int | None = None, **params: Any) -> Any:
    """Build the registered model ``name``.

    Args:
        name: a registry name (see ``mer4d models list``).
        num_classes: number of output logits K.
        in_channels: channels C of the input clips (1 for grayscale video).
        num_aus: AU classes of the data, for factories that take it (AU-graph); ignored otherwise.
        **params: model-specific options, passed to the factory (e.g. ``width`` for ``tiny3d``).

    Returns:
        a ``torch.nn.Module`` following the contract in this module's docstring.

    Raises:
        UnknownNameError: ``name`` is not registered (the message suggests close names).
        RecipeError: ``params`` holds an option the factory does not take, or a bad value.
    """
    factory = check_model_params(name, params)
    if num_aus is not None and learns_aus(name):
        params = {**params, "num_aus": num_aus}
    return factory(num_classes=num_classes, in_channels=in_channels, **params)
