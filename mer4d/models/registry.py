"""The model registry and the contract every registered model follows.

A model is registered with :func:`register_model`: a factory ``(num_classes: int, in_channels:
int, **params) -> model`` whose one-line docstring is what ``mer4d models list`` shows, and a
frozen :class:`ModelInfo` declaring what it is and needs (torch or classic, input layout, whether
it learns AUs, its training loss). The runner and the engine read only that record, never the
model object, so a model's capabilities are visible before anything is built. Name the options
as keyword parameters with defaults (no ``**kwargs``), so a misspelt recipe option is caught with
a did-you-mean before any training starts. Entries are added by explicit imports in
:mod:`mer4d.models` (no import-time discovery), so the registry is the same wherever it is used.

Every *torch* model (``kind="torch"``) the factories return must:

* ``forward(x)``: a batch in the declared ``input`` layout (default clips (B, C, T, H, W)),
  float32, with the dimension after B == ``in_channels`` -> logits (B, K). The input is checked
  with :func:`mer4d.core.check_shape` and a wrong input raises :class:`mer4d.core.ShapeError`
  naming the expected and the actual shape.
* ``forward_features(x)``: same input -> pooled features (B, num_features), the input of the
  classifier head (for linear probes, embeddings and transfer).
* ``num_features``: int attribute, the width of those features.
* ``reset_classifier(num_classes)``: replace the head with a fresh one producing ``num_classes``
  logits (fine-tuning on a corpus with another label set).
* give every parameter a gradient from a loss on the logits (no dead branches), which
  ``tests/models/test_registry_contract.py`` checks for every entry.
* provide what its declared ``training_loss`` uses (see :mod:`mer4d.losses`), and, with
  ``learns_aus``, ``set_au_cooccurrence(au_targets)``: the training fold's (N, K_au) AU table,
  handed over before training.

*Classic* entries (``kind="classic"``: hand-crafted features + a scikit-learn classifier, e.g.
``lbptop_svm``) are not torch modules; their objects provide:

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
from dataclasses import dataclass, field
from typing import Any, Literal

from mer4d.core.options import check_options
from mer4d.core.registry import Registry
from mer4d.models.clip_input import CLIPS, InputSpec

RESERVED = ("num_classes", "in_channels", "num_aus")  # set by the runner, never by a recipe


@dataclass(frozen=True)
class ModelInfo:
    """What a registered model is and needs; declared once, at registration.

    Attributes:
        kind: ``"torch"``: an ``nn.Module`` trained by the epoch engine (:mod:`mer4d.train.engine`);
            ``"classic"``: features + scikit-learn, fitted once per fold (:mod:`mer4d.train.classic`).
        input: the batch layout it eats (:class:`~mer4d.models.clip_input.InputSpec`); the runner
            refuses a corpus whose samples have another number of dimensions.
        learns_aus: it learns AUs next to the task's labels: its factory takes ``num_aus`` (the
            runner passes the data's AU class count), it gets ``set_au_cooccurrence`` with the
            training fold's AU table and is trained with the AU targets too.
        training_loss: the name of its training loss in :data:`mer4d.losses.TRAINING_LOSSES`:
            ``"task"`` (the recipe's CE/BCE on the logits), or a method-defined loss such as
            AU-graph's ``"au_joint"`` or CCDN's ``"view_supervision"``. Validation loss is always
            the recipe's loss on the logits.
        multilabel_option: the factory option saying whether its outputs are multi-label
            probabilities (CCDN's ``multilabel``, which picks sigmoid or softmax view fusion);
            the runner refuses a recipe whose task disagrees with it. None: the model's logits
            serve either kind of task.
        paper_input: the size of one sample in the publication the model follows, in the
            ``input`` layout without B (clips: (C, T, H, W), e.g. (3, 16, 224, 224)); ``mer4d
            models list`` shows the parameter count of the default model built for it
            (:func:`paper_parameter_count`), and a slow test forwards it. None: not stated.
    """

    kind: Literal["torch", "classic"] = "torch"
    input: InputSpec = field(default=CLIPS)
    learns_aus: bool = False
    training_loss: str = "task"
    multilabel_option: str | None = None
    paper_input: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("torch", "classic"):
            raise ValueError(f"ModelInfo.kind must be 'torch' or 'classic', got {self.kind!r}")
        if self.kind == "classic" and (self.learns_aus or self.training_loss != "task"):
            raise ValueError("ModelInfo: a classic model is fitted by scikit-learn once per fold; it has no training loss and cannot learn AUs jointly")
        if self.paper_input is not None:
            sizes = tuple(self.paper_input)
            if len(sizes) != len(self.input.sample_dims) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
                raise ValueError(f"ModelInfo.paper_input must be {len(self.input.sample_dims)} positive ints {self.input.sample_dims}, got {self.paper_input!r}")
            object.__setattr__(self, "paper_input", sizes)


@dataclass(frozen=True)
class ModelEntry:
    """A registry entry: the factory and its :class:`ModelInfo`."""

    name: str
    factory: Callable[..., Any]
    info: ModelInfo

    @property
    def summary(self) -> str:
        """The factory docstring's first line (``mer4d models list``)."""
        return (inspect.getdoc(self.factory) or "").split("\n")[0]

    def options(self) -> dict[str, Any]:
        """The recipe options (``model.params``) with their defaults, in signature order."""
        return {n: p.default for n, p in inspect.signature(self.factory).parameters.items() if n not in RESERVED}

    def option(self, params: dict[str, Any], name: str) -> Any:
        """The value option ``name`` takes for ``params``: the recipe's, else the factory default."""
        return params[name] if name in params else self.options()[name]


MODELS: Registry[ModelEntry] = Registry("model", list_command="mer4d models list")


def register_model(name: str, info: ModelInfo | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering a factory under ``name`` with its ``info`` (default: a torch clip model).

    Checks at import time that the factory's signature agrees with ``info`` (``num_aus`` exactly
    when it learns AUs; the options ``info`` names exist), so a wrong declaration fails loudly.
    """
    info = info or ModelInfo()

    def add(factory: Callable[..., Any]) -> Callable[..., Any]:
        params = list(inspect.signature(factory).parameters)
        where = f"model '{name}' ({factory.__module__}.{factory.__qualname__})"
        if params[:2] != ["num_classes", "in_channels"]:
            raise ValueError(f"{where}: the factory must start with (num_classes, in_channels, ...), got ({', '.join(params)})")
        if info.learns_aus != ("num_aus" in params):
            raise ValueError(f"{where}: info.learns_aus={info.learns_aus} but the factory {'does not take' if info.learns_aus else 'takes'} num_aus")
        named = [o for o in (info.multilabel_option, *info.input.sized_by.values()) if o is not None]
        missing = [o for o in named if o not in params]
        if missing:
            raise ValueError(f"{where}: info names option(s) {missing} that the factory does not take")
        MODELS.register(name)(ModelEntry(name, factory, info))
        return factory

    return add


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` ``name`` was registered with (unknown names: did-you-mean error)."""
    return MODELS.get(name).info


def paper_parameter_count(name: str, num_classes: int = 7) -> int | None:
    """Parameters of ``name`` at its default options for its ``paper_input`` (its first size is
    ``in_channels``) and ``num_classes`` logits (7: DFME's classes); None without a paper input.

    The model is built on PyTorch's meta device: no memory is allocated and no initialisation
    runs, so counting a 30 M-parameter network takes milliseconds.
    """
    import torch

    info = model_info(name)
    if info.paper_input is None:
        return None
    with torch.device("meta"):
        model = build_model(name, num_classes=num_classes, in_channels=info.paper_input[0])
    return sum(p.numel() for p in model.parameters())


def check_model_params(name: str, params: dict[str, Any]) -> ModelEntry:
    """The entry of ``name``, after checking ``params`` against its factory's signature (no model built)."""
    entry = MODELS.get(name)
    check_options(entry.factory, params, f"model.params (model '{name}')", reserved=RESERVED)
    return entry


def build_model(name: str, *, num_classes: int, in_channels: int, num_aus: int | None = None, **params: Any) -> Any:
    """Build the registered model ``name``.

    Args:
        name: a registry name (see ``mer4d models list``).
        num_classes: number of output logits K.
        in_channels: the size of a sample's first dimension (C for clips, V for view stacks).
        num_aus: AU classes of the data, for models that learn AUs (AU-graph); ignored otherwise.
        **params: model-specific options, passed to the factory (e.g. ``width`` for ``tiny3d``).

    Returns:
        a ``torch.nn.Module`` (or, for classic entries, an object) following the contract in this
        module's docstring.

    Raises:
        UnknownNameError: ``name`` is not registered (the message suggests close names).
        RecipeError: ``params`` holds an option the factory does not take, or a bad value.
    """
    entry = check_model_params(name, params)
    if num_aus is not None and entry.info.learns_aus:
        params = {**params, "num_aus": num_aus}
    return entry.factory(num_classes=num_classes, in_channels=in_channels, **params)
