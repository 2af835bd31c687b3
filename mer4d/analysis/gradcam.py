"""Grad-CAM (Selvaraju et al., ICCV 2017) for the 3D clip CNNs and CCDN's per-view GoogLeNets.

``algorithms.md`` §12. For the feature map ``A`` (channels k) of a model's last convolutional
stage and the logit ``y^c`` of class c (per-class logits for multi-label models too):

* ``alpha_k^c = mean_{t,h,w} dy^c / dA_k(t, h, w)`` (the gradient averaged over T', H', W');
* ``L^c = ReLU(sum_k alpha_k^c A_k)``, a (T', H', W') map (H', W' for 2D models);
* upsampled to the input's T x H x W (trilinear; bilinear in 2D), averaged over time, and
  min-max normalised per clip and class to [0, 1] (an all-zero map stays zero).

Layer-CAM (Jiang et al., IEEE TIP 2021), ``method="layercam"``, weights each location by its own
positive gradient instead of the channel's average: ``L^c = ReLU(sum_k ReLU(dy^c/dA_k) * A_k)``.
Grad-CAM's one weight per channel is what makes it blurry on an earlier, finer stage (positive and
negative evidence cancel in the average); Layer-CAM stays faithful there, so ``layer2`` of a
Res3D gives a map at a quarter of the input's side instead of ``layer4``'s sixteenth.

Which feature map: :data:`CAM_LAYERS` names, per registered model, the submodule whose output is
the last convolutional feature map before global pooling (hooks capture its output and gradient).
P3D's res5 is 2D, run once per frame: its (B * T', C, H', W') output is folded back to clips.
CCDN has one GoogLeNet per view, each with its own classifier: its CAMs are each branch's
Grad-CAM for its own per-view logits on its own view (:func:`cam_branches`), one map per view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError

CAM_LAYERS = {
    "res3d": "layer4",  # the last BasicBlock pair, (B, 8w, T/8, H/16, W/16), after its ReLU
    "res3d_sca": "layer4",
    "tiny3d": "features.4",  # the third conv block, before its global max-pool
    "p3d": "layer4",  # res5, 2D bottlenecks per frame
    "d3d": "norm5",  # the last dense block after its BatchNorm; a functional ReLU then pools (torchvision's features[-1])
    "i3d": "features",  # Mixed_5c
    "googlenet": "inception",  # inception 5b
}
"""Registered model -> dotted name of its Grad-CAM feature map (``model.get_submodule``)."""
MULTI_VIEW = {"ccdn"}  # one GoogLeNet per view: ``inception`` of each branch
METHODS = {"gradcam": "Grad-CAM", "layercam": "Layer-CAM"}  # method -> the name reports print


@dataclass(frozen=True)
class CamBranch:
    """One network Grad-CAM runs on: ``net(pick(x))`` gives its (B, K) logits, ``layer`` its feature map."""

    view: int | None  # CCDN: the input view this branch reads; None for single-network models
    net: nn.Module
    layer: nn.Module
    pick: Callable[[torch.Tensor], torch.Tensor]


def _whole(x: torch.Tensor) -> torch.Tensor:
    return x


def cam_models() -> tuple[str, ...]:
    return (*sorted(CAM_LAYERS), *sorted(MULTI_VIEW))


def _submodule(net: nn.Module, name: str, model_name: str) -> nn.Module:
    try:
        return net.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in net.named_children()]
        raise RecipeError(f"Grad-CAM: model '{model_name}' has no layer '{name}'; its top-level layers are {names} "
                          "(dotted names reach inside, e.g. layer3 or features.4)") from None


def cam_branches(model_name: str, model: nn.Module, layer: str | None = None) -> list[CamBranch]:
    """The networks of ``model`` (registered as ``model_name``) that Grad-CAM explains, in view order.

    ``layer`` replaces the declared feature map by another submodule (of each view's GoogLeNet for
    CCDN), e.g. ``layer3`` for a finer map than ``layer4``'s."""
    if model_name in MULTI_VIEW:
        out = []
        for position, view in enumerate(model.views):
            branch = model.branches[0 if model.shared else position]
            out.append(CamBranch(view, branch, _submodule(branch, layer or "inception", model_name), lambda x, v=view: x[:, v]))
        return out
    if model_name not in CAM_LAYERS:
        raise RecipeError(f"Grad-CAM: model '{model_name}' declares no feature map; it is defined for {', '.join(cam_models())} "
                          "(mer4d.analysis.gradcam.CAM_LAYERS: add the last convolutional stage of a new model there)")
    return [CamBranch(None, model, _submodule(model, layer or CAM_LAYERS[model_name], model_name), _whole)]


def _as_clips(features: torch.Tensor, batch: int) -> torch.Tensor:
    """(B, C, T', H', W') or (B, C, H', W'); a per-frame 2D stage's (B * T', C, H', W') folded to (B, C, T', H', W')."""
    if features.ndim == 4 and features.shape[0] != batch:
        frames = features.shape[0] // batch
        return features.view(batch, frames, *features.shape[1:]).transpose(1, 2)
    return features


def grad_cam(net: nn.Module, layer: nn.Module, x: torch.Tensor, classes: list[int] | None = None, method: str = "gradcam") -> torch.Tensor:
    """Normalised Grad-CAMs (B, K', H, W) of ``net`` on ``x`` ((B, C, T, H, W) clips or (B, C, H, W) images).

    Args:
        net: a module giving (B, K) logits; put it in eval mode first (dropout off, BatchNorm
            running statistics), so each sample's map depends on that sample only.
        layer: the submodule of ``net`` whose output is the feature map A.
        x: the input batch, as the model sees it at test time.
        classes: logit indices to explain (default: all K), in the order of the output.
        method: ``gradcam`` (one weight per channel) or ``layercam`` (each location's positive gradient).

    Returns:
        float32 maps in [0, 1], one per sample and requested class, at the input's H x W (a
        clip's maps averaged over its T frames).
    """
    if method not in METHODS:
        raise RecipeError(f"CAM method '{method}' is not known; choose one of {', '.join(METHODS)}")
    captured: list[torch.Tensor] = []
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        with torch.enable_grad():
            logits = net(x)
    finally:
        handle.remove()
    if len(captured) != 1:
        raise RuntimeError(f"Grad-CAM: the feature layer ran {len(captured)} times in one forward pass, expected once")
    features = captured[0]
    batch = x.shape[0]
    wanted = list(range(logits.shape[1])) if classes is None else list(classes)
    maps = []
    for i, c in enumerate(wanted):
        (grad,) = torch.autograd.grad(logits[:, c].sum(), features, retain_graph=i < len(wanted) - 1)
        a, g = _as_clips(features.detach(), batch), _as_clips(grad, batch)
        weight = g.mean(dim=tuple(range(2, g.ndim)), keepdim=True) if method == "gradcam" else F.relu(g)  # (B, C, 1, 1[, 1]) or A's shape
        cam = F.relu((weight * a).sum(dim=1, keepdim=True))  # (B, 1, [T',] H', W')
        if cam.ndim == 5:
            size = x.shape[2:] if x.ndim == 5 else (cam.shape[2], *x.shape[-2:])
            cam = F.interpolate(cam, size=tuple(size), mode="trilinear", align_corners=False).mean(dim=2)
        else:
            cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
        maps.append(cam[:, 0])
    return normalise(torch.stack(maps, dim=1)).float()


def normalise(maps: torch.Tensor) -> torch.Tensor:
    """Min-max to [0, 1] over the last two dimensions; a constant map becomes zero."""
    low = maps.amin(dim=(-2, -1), keepdim=True)
    span = maps.amax(dim=(-2, -1), keepdim=True) - low
    return torch.where(span > 0, (maps - low) / span.clamp_min(torch.finfo(maps.dtype).tiny), torch.zeros_like(maps))
