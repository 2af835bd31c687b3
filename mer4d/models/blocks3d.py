"""blocks3d: building blocks shared by the 3D CNN clip classifiers (res3d, p3d, d3d, i3d).

* :class:`ConvBnRelu3d`: Conv3d (no bias: the BatchNorm right after has its own shift) +
  BatchNorm3d + ReLU, the unit of every 3D CNN here;
* :class:`SqueezeExcite3d`: Hu et al.'s squeeze-and-excitation for 3-D maps (global average pool,
  FC C -> C/r, ReLU, FC C/r -> C, sigmoid, channel scaling; r = 16);
* :func:`init_video_weights` and :func:`init_small_head`: the torchvision-style initialisation
  (Kaiming-normal fan-out convolutions, BatchNorm 1/0, an N(0, 0.01) classifier whose first loss
  is near log K);
* :class:`ClassifierHead`: the registry contract's ``forward`` and ``reset_classifier`` on top of
  a model's ``forward_features``, so each model writes only its features;
* :func:`fit_kernel`: pooling kernels that shrink to a dimension of size 1, so short clips
  (T = 1 or 2) and small frames pass where a fixed kernel would fail.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from mer4d.core.errors import RecipeError
from mer4d.models.clip_input import check_clip, check_int, remove_static

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class ConvBnRelu3d(nn.Module):
    """Conv3d (no bias) + BatchNorm3d (+ ReLU): (B, Cin, T, H, W) -> (B, Cout, T', H', W').

    Args:
        in_channels, out_channels: channels before and after.
        kernel_size, stride, padding: of the Conv3d (ints or (t, h, w) triples).
        eps: the BatchNorm epsilon (PyTorch's 1e-5; I3D uses TensorFlow's 1e-3).
        relu: whether a ReLU follows the BatchNorm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        eps: float = 1e-5,
        relu: bool = True,
    ):
        super().__init__()
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm3d(out_channels, eps=eps)
        self.relu: nn.Module = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class SqueezeExcite3d(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018) in 3-D: (B, C, T, H, W) -> same shape.

    y = x * sigmoid(W2 ReLU(W1 mean_{T,H,W}(x) + b1) + b2), W1: C -> max(1, C // reduction),
    W2 back to C; 2 C h + h + C parameters for h hidden units.
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        check_int("SqueezeExcite3d", "channels", channels, 1)
        check_int("SqueezeExcite3d", "reduction", reduction, 1)
        hidden = max(1, channels // reduction)
        self.channels, self.hidden = channels, hidden
        self.fc1 = nn.Linear(channels, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean(dim=(2, 3, 4))                                   # (B, C)
        scale = torch.sigmoid(self.fc2(self.relu(self.fc1(squeezed))))  # (B, C) in (0, 1)
        return x * scale[:, :, None, None, None]


def init_video_weights(module: nn.Module) -> None:
    """torchvision's video-model initialisation of every submodule of ``module``: Kaiming-normal
    (fan-out, ReLU gain) Conv3d/Conv2d weights with zero biases, BatchNorm weight 1 and bias 0.
    Linear layers are left as they are (see :func:`init_small_head` for the classifier).
    Tensors on PyTorch's meta device (no values: parameter counting) are skipped; their
    ``normal_`` takes a slow first-call path there."""
    for m in module.modules():
        if any(p.is_meta for p in m.parameters(recurse=False)):
            continue
        if isinstance(m, (nn.Conv3d, nn.Conv2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BATCH_NORMS):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_small_head(layer: nn.Linear) -> None:
    """N(0, 0.01) weights and zero bias (torchvision's choice): small logits at the start, so the
    loss starts near log(K)."""
    if layer.weight.is_meta:
        return
    nn.init.normal_(layer.weight, 0.0, 0.01)
    nn.init.zeros_(layer.bias)


def check_dropout(model: str, dropout: object) -> None:
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise RecipeError(f"{model}: dropout must be a number in [0, 1), got {dropout!r}; e.g. dropout=0.5")


def fit_kernel(kernel: Sequence[int], sizes: Sequence[int]) -> tuple[int, ...]:
    """``kernel`` with each entry cut to the size of its dimension (at least 1): a pooling of
    kernel = stride = the result works on any input and is the identity along a dimension of size 1."""
    return tuple(max(1, min(k, s)) for k, s in zip(kernel, sizes, strict=True))


class ClassifierHead(nn.Module):
    """Base class of the clip classifiers: ``forward`` = classifier(dropout(forward_features(x))).

    A subclass writes ``forward_features`` (which checks its input with
    :func:`~mer4d.models.clip_input.check_clip`) and calls :meth:`build_head` after its feature
    layers; :meth:`init_weights` then applies :func:`init_video_weights` to the whole model and
    :func:`init_small_head` to the classifier. ``model_name`` names the model in error messages.
    """

    model_name = "model"
    in_channels: int
    remove_static: bool
    num_features: int
    dropout: nn.Module
    classifier: nn.Linear

    def build_head(self, num_features: int, num_classes: int, dropout: float) -> None:
        """Set ``num_features`` and create the dropout and the Linear classifier (not yet initialised)."""
        check_int(self.model_name, "num_classes", num_classes, 1)
        check_dropout(self.model_name, dropout)
        self.num_features = num_features
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(num_features, num_classes)

    def init_weights(self) -> None:
        init_video_weights(self)
        init_small_head(self.classifier)

    def checked_input(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` checked against the clip layout and ``in_channels``; with ``remove_static`` each
        pixel's temporal mean subtracted (the change over time, not the identity)."""
        check_clip(x, self.in_channels)
        return remove_static(x) if self.remove_static else x

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, K) of clips (B, C, T, H, W)."""
        return self.classifier(self.dropout(self.forward_features(x)))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the head with a freshly initialised one giving ``num_classes`` logits (same device and dtype)."""
        check_int(self.model_name, "num_classes", num_classes, 1)
        weight = self.classifier.weight
        self.classifier = nn.Linear(self.num_features, num_classes, device=weight.device, dtype=weight.dtype)
        init_small_head(self.classifier)
