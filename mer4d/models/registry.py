"""The model registry and the contract every registered model follows.

A registry entry is a factory ``(num_classes: int, in_channels: int, **params) -> nn.Module``
whose one-line docstring is what ``mer4d models list`` shows. Name the options as keyword
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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mer4d.core.options import check_options
from mer4d.core.registry import Registry

MODELS: Registry[Callable[..., Any]] = Registry("model", list_command="mer4d models list")


def check_model_params(name: str, params: dict[str, Any]) -> Callable[..., Any]:
    """The factory of ``name``, after checking ``params`` against its signature (no model built)."""
    factory = MODELS.get(name)
    check_options(factory, params, f"model.params (model '{name}')", reserved=("num_classes", "in_channels"))
    return factory


def build_model(name: str, *, num_classes: int, in_channels: int, **params: Any) -> Any:
    """Build the registered model ``name``.

    Args:
        name: a registry name (see ``mer4d models list``).
        num_classes: number of output logits K.
        in_channels: channels C of the input clips (1 for grayscale video).
        **params: model-specific options, passed to the factory (e.g. ``width`` for ``tiny3d``).

    Returns:
        a ``torch.nn.Module`` following the contract in this module's docstring.

    Raises:
        UnknownNameError: ``name`` is not registered (the message suggests close names).
        RecipeError: ``params`` holds an option the factory does not take, or a bad value.
    """
    factory = check_model_params(name, params)
    return factory(num_classes=num_classes, in_channels=in_channels, **params)
