"""MoExt's pre-training network (arXiv 2407.07345 §3.1, Eq. 1, Figure 2): X̃_a = R(E(F(X_o), F(X_a)), F(X_o)).

It holds the feature separator F, the motion extractor E, the apex reconstructor R and the
projector f of the contrastive losses. The losses and the training loop are not here (models do
not train); this module gives what they need:

* ``forward(onset, apex)``: every feature and the reconstruction, for Eq. 5 (L_re), Eq. 6 (L_st)
  and Eq. 8 (L_ss);
* ``project(z)``: f, "the function that maps all features into the high-dimensional space"
  (Eq. 6, 8). The paper does not specify it. Here it is Linear(feature_dim, feature_dim), ReLU,
  Linear(feature_dim, projection_dim), then L2 normalisation: one f for shape and texture
  features alike (Eq. 6 compares f(S) with f(T), so they must live in one space), and on the unit
  sphere the distances are in [0, 2], so the margin ε ∈ [0.2, 0.5] has a fixed meaning whatever
  the feature scale (without it the network could meet any margin by scaling the features up);
* ``checkpoint()``: what the objective stage inherits (§3.2: the separator without its texture
  branch, and the motion extractor), for ``moext(init=path)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mer4d.core.shapes import check_shape
from mer4d.models.blocks3d import init_video_weights
from mer4d.models.clip_input import check_int
from mer4d.models.moext.motion import MotionExtractor
from mer4d.models.moext.reconstruct import ApexReconstructor
from mer4d.models.moext.separator import FeatureSeparator

CHECKPOINT_FORMAT = "mer4d-moext-pretrain/1"
# The settings a classifier built from a checkpoint must share with it (size only shapes the reconstructor).
SHARED_SETTINGS = ("in_channels", "width", "feature_dim", "motion")


class MoExtPretrainNet(nn.Module):
    """Separator, motion extractor, apex reconstructor and projector of MoExt's pre-training.

    Args:
        in_channels: frame channels C (3 in the paper).
        size: frame height and width, 7 x 2^k with k >= 1 (the paper: 224; 56 or 28 for quick runs).
        width: channels of the separator's first block (the paper's channel counts at 64).
        feature_dim: size of the shape, texture and motion vectors (the paper: 512).
        motion: ``"extractor"`` (Eq. 3) or ``"difference"`` (Table 7's |S_a - S_o|).
        projection_dim: output size of the projector f.

    Shapes:
        onset, apex (B, C, size, size) in [0, 1], B >= 2 in training (BatchNorm on vectors);
        features (B, feature_dim); reconstruction (B, C, size, size) in (0, 1);
        projections (B, projection_dim), unit length.
    """

    def __init__(self, in_channels: int = 3, size: int = 224, width: int = 64, feature_dim: int = 512, motion: str = "extractor", projection_dim: int = 128):
        super().__init__()
        check_int("moext", "projection_dim", projection_dim, 1)
        self.in_channels, self.size, self.width, self.feature_dim, self.motion_mode = in_channels, size, width, feature_dim, motion
        self.separator = FeatureSeparator(in_channels, width, feature_dim)
        self.motion = MotionExtractor(feature_dim, motion)
        self.reconstructor = ApexReconstructor(feature_dim, in_channels, size, width)
        self.projector = nn.Sequential(nn.Linear(feature_dim, feature_dim), nn.ReLU(inplace=True), nn.Linear(feature_dim, projection_dim))
        init_video_weights(self)

    def separate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, T), each (B, feature_dim), of frames (B, C, H, W)."""
        return self.separator(x)

    def extract_motion(self, shape_onset: torch.Tensor, shape_apex: torch.Tensor) -> torch.Tensor:
        """M (B, feature_dim) of the onset and apex shape features (Eq. 2-3)."""
        return self.motion(shape_onset, shape_apex)

    def reconstruct(self, motion: torch.Tensor, texture_onset: torch.Tensor) -> torch.Tensor:
        """X̃_a (B, C, size, size) = R(Concat(M, T_o)) (Eq. 4)."""
        return self.reconstructor(torch.cat([motion, texture_onset], dim=1))

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """f(z): features (B, feature_dim) -> unit vectors (B, projection_dim) (Eq. 6, 8)."""
        check_shape(z, f"B {self.feature_dim}", name="features")
        return F.normalize(self.projector(z), dim=1)

    def forward(self, onset: torch.Tensor, apex: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every feature of an onset/apex batch and the reconstructed apex (Eq. 1)."""
        spec = f"B {self.in_channels} {self.size} {self.size}"
        check_shape(apex, spec, name="apex", bound={"B": check_shape(onset, spec, name="onset")["B"]})
        # One separator pass on both frames: the same weights (Figure 2) and one BatchNorm batch.
        shape, texture = self.separate(torch.cat([onset, apex]))
        b = onset.shape[0]
        shape_onset, shape_apex, texture_onset, texture_apex = shape[:b], shape[b:], texture[:b], texture[b:]
        motion = self.extract_motion(shape_onset, shape_apex)
        return {
            "shape_onset": shape_onset, "shape_apex": shape_apex, "texture_onset": texture_onset, "texture_apex": texture_apex,
            "motion": motion, "reconstruction": self.reconstruct(motion, texture_onset),
        }

    def settings(self) -> dict[str, int | str]:
        return {"in_channels": self.in_channels, "size": self.size, "width": self.width, "feature_dim": self.feature_dim, "motion": self.motion_mode}

    def checkpoint(self) -> dict[str, object]:
        """What ``moext(init=path)`` loads, after ``torch.save(net.checkpoint(), path)``.

        ``{"format": CHECKPOINT_FORMAT, "settings": {in_channels, size, width, feature_dim,
        motion}, "state": {...}}``. The state holds the separator's backbone and shape branch
        (``separator.*``) and the motion extractor (``motion.*``), copied to the CPU: what the
        objective stage inherits (§3.2). The texture branch, reconstructor and projector are left
        out (they serve only pre-training; ``state_dict()`` has them, to resume it). Only
        tensors, str and int: ``torch.load(path, weights_only=True)`` reads it.
        """
        state = {f"separator.{k}": v for k, v in self.separator.shape_state().items()}
        state.update({f"motion.{k}": v for k, v in self.motion.state_dict().items()})
        return {"format": CHECKPOINT_FORMAT, "settings": self.settings(), "state": {k: v.detach().cpu().clone() for k, v in state.items()}}

