"""ccdn: collaborative cross-domain dynamic-image network over multiple views (Behzad et al., BMVC 2019).

``algorithms.md`` §2. What the paper's abstract states: cross-domain image representations are
made from geometric images of each 4D frame, rank-pooled into cross-domain dynamic images (CDI),
classified by an end-to-end CNN, and "the predictions collaborate over multi-views". The paper
body (fusion rule, domain mixing) was not available, so the following are configurable choices:

* **Tensors.** One sample is a stack of per-view dynamic images ``(V, C, H, W)``; a batch is
  ``(B, V, C, H, W)``. The V views are in the order the data lays them out (the recipe's
  ``render.views``, e.g. left, front, right). The C channels of one view hold its domains'
  dynamic images concatenated in a fixed order the data side documents, e.g. [DPI, E-DPI,
  gray texture] -> C = 3, or [DPI, E-DPI, RGB texture] -> C = 5.
* **Domains: early fusion.** The domains of a view are combined by channel concatenation into one
  cross-domain input of one GoogLeNet (Inception-v1, :mod:`mer4d.models.googlenet`), the
  "cross-domain image representation" of the abstract.
* **Views: one branch each, late fusion.** Each selected view has its own GoogLeNet and
  classifier (``shared=True``: one network for every view); the per-view logits (B, V', K) are
  fused by :func:`fuse_views` into logits whose sigmoid (``multilabel``) or softmax equals the
  fused probability, so training uses ``BCEWithLogitsLoss`` or cross-entropy on them unchanged.
  ``forward(x, return_views=True)`` also returns the per-view logits, for per-view reports and
  for the training loss, which adds each view's own loss (``view_loss_weight``; registered as
  ``training_loss="view_supervision"``, :mod:`mer4d.losses.view_supervision`).

Mapping to the registry contract: the runner sets ``in_channels`` from a sample's first
dimension, which here is the number of views V in the data; ``channels`` is the per-view channel
count C; ``views`` selects which of the V views the model uses (``views=[1]``: one view only,
then the output is that branch's logits unchanged).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError, ShapeError
from mer4d.core.registry import did_you_mean
from mer4d.core.shapes import check_shape
from mer4d.models.clip_input import InputSpec, check_int
from mer4d.models.googlenet import GoogLeNet, check_dropout, check_min_size, check_width
from mer4d.models.registry import ModelInfo, register_model

FUSIONS = ("mean", "product", "learned")
# One sample is a stack of V views of C channels each; V is in_channels, C the ``channels`` option.
VIEWS = InputSpec("B V C H W", sized_by={"C": "channels"})


def fuse_views(view_logits: torch.Tensor, fusion: str, multilabel: bool, view_scores: torch.Tensor | None = None) -> torch.Tensor:
    """Fuse per-view logits (B, V, K) into logits (B, K) whose sigmoid/softmax is the fused probability.

    With ``p_v = sigmoid(z_v)`` (``multilabel``, each class its own yes/no event) or
    ``p_v = softmax(z_v)`` (single-label):

    * ``"mean"``: ``p = mean_v p_v``; returns ``logit(p)`` (multi-label) or ``log(p)``.
    * ``"learned"``: ``p = sum_v w_v p_v`` with ``w = softmax(view_scores)``; returned like "mean"
      (zero scores give "mean").
    * ``"product"``: product of experts, ``p ∝ prod_v p_v`` renormalised over the outcomes (yes/no
      per class for multi-label, the K classes for single-label); this is ``sum_v z_v`` (multi-label)
      or ``log_softmax(sum_v z_v)``. The geometric mean of probabilities gives the same decisions
      with a temperature V.

    Everything is computed in log space (``logsumexp`` of log-sigmoids / log-softmaxes), so it is
    exact and finite without clamping even for saturated views.

    Args:
        view_logits: (B, V, K) per-view logits.
        fusion: one of :data:`FUSIONS`.
        multilabel: sigmoid per class (True) or softmax over classes (False).
        view_scores: (V,) unnormalised view weights; required by "learned", refused otherwise.

    Returns:
        (B, K) fused logits.
    """
    sizes = check_shape(view_logits, "B V K", name="view_logits")
    if view_logits.dtype in (torch.float16, torch.bfloat16):  # mixed precision: fuse in float32
        view_logits = view_logits.float()
    if fusion not in FUSIONS:
        raise RecipeError(f"ccdn: unknown fusion {fusion!r}{did_you_mean(str(fusion), FUSIONS)} Known: {', '.join(FUSIONS)}.")
    if (fusion == "learned") != (view_scores is not None):
        raise ValueError(f"fuse_views: view_scores must be given for fusion 'learned' and only for it (fusion={fusion!r})")
    if fusion == "product":
        total = view_logits.sum(dim=1)
        return total if multilabel else torch.log_softmax(total, dim=-1)
    if view_scores is None:
        log_weights = view_logits.new_full((sizes["V"],), -math.log(sizes["V"]))
    else:
        check_shape(view_scores, "V", name="view_scores", bound={"V": sizes["V"]})
        log_weights = torch.log_softmax(view_scores, dim=0)
    log_weights = log_weights.view(1, -1, 1)
    if multilabel:
        log_yes = torch.logsumexp(log_weights + F.logsigmoid(view_logits), dim=1)
        log_no = torch.logsumexp(log_weights + F.logsigmoid(-view_logits), dim=1)
        return log_yes - log_no
    return torch.logsumexp(log_weights + torch.log_softmax(view_logits, dim=-1), dim=1)


class CCDN(nn.Module):
    """Multi-view cross-domain dynamic-image network: (B, V, C, H, W) -> (B, K) fused logits.

    Args:
        num_classes: number of logits K (>= 1).
        in_channels: views V in each input sample (the runner takes it from the sample's first dim).
        channels: channels C per view (the view's domain dynamic images concatenated).
        views: indices (into the V input views) of the views to use, in order; None uses all.
        shared: one GoogLeNet for every view instead of one per view.
        fusion: "mean", "product" or "learned" (see :func:`fuse_views`).
        multilabel: fuse sigmoid probabilities (train with BCE) instead of softmax ones (CE).
        width: GoogLeNet channel multiplier (1.0 is the published network).
        dropout: dropout before each view's classifier, in [0, 1).
        view_loss_weight: weight of each view's own loss added in training (:mod:`mer4d.losses.view_supervision`).

    Shapes:
        input (B, V, C, H, W) with H, W >= 31; per-view logits (B, V', K) with V' = len(views);
        features (B, V' * F): the per-view GoogLeNet features concatenated in view order.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        channels: int = 3,
        views: list[int] | None = None,
        shared: bool = False,
        fusion: str = "mean",
        multilabel: bool = False,
        width: float = 1.0,
        dropout: float = 0.4,
        view_loss_weight: float = 1.0,
    ):
        super().__init__()
        check_int("ccdn", "num_classes", num_classes, 1)
        check_int("ccdn", "in_channels (views in the data)", in_channels, 1)
        check_int("ccdn", "channels", channels, 1)
        check_width("ccdn", width)
        check_dropout("ccdn", dropout)
        for name, flag in (("shared", shared), ("multilabel", multilabel)):
            if not isinstance(flag, bool):
                raise RecipeError(f"ccdn: {name} must be true or false, got {flag!r}")
        if fusion not in FUSIONS:
            raise RecipeError(f"ccdn: unknown fusion {fusion!r}{did_you_mean(str(fusion), FUSIONS)} Known: {', '.join(FUSIONS)}.")
        self.in_channels = in_channels
        self.channels = channels
        self.views = _check_views(views, in_channels)
        if shared and len(set(self.views)) != len(self.views):
            # With shared weights a repeated view is the same network twice: no ensemble, just a bug.
            raise RecipeError(f"ccdn: views repeats an index ({list(self.views)}) with shared=true, so the repeats compute identical logits; "
                              "set shared=false for a same-view ensemble (one branch per entry) or list each view once")
        self.shared = shared
        self.fusion = fusion
        self.multilabel = multilabel
        if isinstance(view_loss_weight, bool) or not isinstance(view_loss_weight, (int, float)) or not 0 <= view_loss_weight < 100:
            raise RecipeError(f"ccdn: view_loss_weight must be a number in [0, 100), got {view_loss_weight!r}")
        self.view_loss_weight = float(view_loss_weight)
        n_branches = 1 if shared else len(self.views)
        self.branches = nn.ModuleList(
            GoogLeNet(num_classes, in_channels=channels, width=width, dropout=dropout) for _ in range(n_branches)
        )
        self.num_features = len(self.views) * self.branches[0].num_features
        # One view needs no fusion (and a lone softmax weight would get no gradient).
        self.view_scores = nn.Parameter(torch.zeros(len(self.views))) if fusion == "learned" and len(self.views) > 1 else None

    @property
    def view_weights(self) -> torch.Tensor | None:
        """The learned fusion's normalised view weights (V',), or None for the fixed fusions."""
        return None if self.view_scores is None else torch.softmax(self.view_scores.detach(), dim=0)

    def forward(self, x: torch.Tensor, return_views: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Fused logits (B, K) of view stacks (B, V, C, H, W); with ``return_views`` also the per-view logits (B, V', K)."""
        features = self._view_features(x)
        view_logits = torch.stack([branch.classifier(branch.dropout(features[:, i])) for i, branch in self._pairs()], dim=1)
        if view_logits.shape[1] == 1:
            fused = view_logits[:, 0]
        else:
            fused = fuse_views(view_logits, self.fusion, self.multilabel, self.view_scores)
        return (fused, view_logits) if return_views else fused

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled per-view features concatenated in view order: (B, V, C, H, W) -> (B, num_features)."""
        return self._view_features(x).flatten(1)

    def reset_classifier(self, num_classes: int) -> None:
        """Give every view branch a freshly initialised head producing ``num_classes`` logits."""
        check_int("ccdn", "num_classes", num_classes, 1)
        for branch in self.branches:
            branch.reset_classifier(num_classes)

    def _pairs(self) -> list[tuple[int, GoogLeNet]]:
        """(position among the selected views, its branch) for every selected view."""
        return [(i, self.branches[0 if self.shared else i]) for i in range(len(self.views))]

    def _view_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, V, C, H, W) -> (B, V', F) pooled features of the selected views."""
        self._check_input(x)
        picked = x[:, list(self.views)]
        if self.shared:  # one pass over all views: (B * V', C, H, W)
            batch, n_views = picked.shape[:2]
            return self.branches[0].forward_features(picked.flatten(0, 1)).view(batch, n_views, -1)
        return torch.stack([branch.forward_features(picked[:, i]) for i, branch in self._pairs()], dim=1)

    def _check_input(self, x: torch.Tensor) -> None:
        sizes = check_shape(x, VIEWS.layout, name="views")
        shape = tuple(x.shape)
        if sizes["V"] != self.in_channels:
            raise ShapeError(
                f"views: expected {self.in_channels} view(s) (B, V={self.in_channels}, C={self.channels}, H, W), got shape {shape} "
                f"with V={sizes['V']}; build the model with in_channels={sizes['V']} (the runner sets it from a sample's first dimension)",
                VIEWS.layout, shape,
            )
        if sizes["C"] != self.channels:
            raise ShapeError(
                f"views: expected {self.channels} channel(s) per view (B, V={self.in_channels}, C={self.channels}, H, W), got shape "
                f"{shape} with C={sizes['C']}; set model.params.channels={sizes['C']} (the domains' dynamic images stacked per view)",
                VIEWS.layout, shape,
            )
        check_min_size("views", x, sizes["H"], sizes["W"], VIEWS.layout)


def _check_views(views: object, n_views: int) -> tuple[int, ...]:
    if views is None:
        return tuple(range(n_views))
    if isinstance(views, int) and not isinstance(views, bool):
        views = [views]
    if not isinstance(views, (list, tuple)) or not views:
        raise RecipeError(f"ccdn: views must be a non-empty list of view indices (e.g. views=[0]) or null for all, got {views!r}")
    for v in views:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n_views:
            raise RecipeError(
                f"ccdn: views holds {v!r}, but the data has {n_views} view(s): indices must be integers in 0..{n_views - 1} "
                "(the order of the recipe's render.views)"
            )
    return tuple(views)


@register_model("ccdn", info=ModelInfo(kind="torch", input=VIEWS, training_loss="view_supervision", multilabel_option="multilabel"))
def ccdn(
    num_classes: int,
    in_channels: int,
    channels: int = 3,
    views: list[int] | None = None,
    shared: bool = False,
    fusion: str = "mean",
    multilabel: bool = False,
    width: float = 1.0,
    dropout: float = 0.4,
    view_loss_weight: float = 1.0,
) -> CCDN:
    """CCDN: a GoogLeNet per view on (B, V, C, H, W) stacked cross-domain dynamic images, fused view probabilities."""
    return CCDN(**locals())  # the options are named above (for recipe checks) and passed on unchanged
