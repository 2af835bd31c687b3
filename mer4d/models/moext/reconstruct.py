"""MoExt's apex reconstruction module R (arXiv 2407.07345 §3.3, Eq. 4, Table 2).

X̃_a = R(Concat(M, T_o)): the motion of the onset -> apex change and the onset's texture must
suffice to redraw the apex, which is what forces shape and texture apart in pre-training.

Table 2 at 224 px and width = 64 (channels scale with ``width``; w = width):

* the (2 x feature_dim) vector as a 1 x 1 map; {Upsampling(2), Conv2d(8w, 3, 1), BN, ReLU} x 3 -> 8 x 8;
* Avg pooling(2, 1) -> 7 x 7;
* {Upsampling(2), Conv2d, BN, ReLU} doublings up to size / 2 with ..., 8w, 4w, 2w, w channels
  counted from the last one (224: 14, 28, 56, 112 px with 512, 256, 128, 64), capped at 8w;
  a smaller size drops the first doublings, so the tail is the same at every size;
* Conv block(w / 2) x 5 (Table 1 blocks; the paper's 32 channels at 112 px);
* Upsampling(2) and Conv2d(3, 3, 1) to the image channels. The table prints 512 output channels
  there, but its output column says 3 x 224 x 224: the image has ``out_channels``.

The table's last row ends in a ReLU, which leaves values above 1 unbounded, whereas the frames
are in [0, 1]. A sigmoid is used instead: its output lies in that range and every pixel keeps a
gradient (a ReLU-then-clamp gives none to pixels outside [0, 1], so a pixel pushed out early would
never come back under the L1 loss of Eq. 5).

``size`` must be 7 x 2^k with k >= 1 (14, 28, 56, 112, 224, ...): the 7 x 7 map is doubled k times.
"""

from __future__ import annotations

import torch
from torch import nn

from mer4d.core.errors import RecipeError
from mer4d.core.shapes import check_shape
from mer4d.models.clip_input import check_int
from mer4d.models.moext.blocks import ConvBlock, UpConv


def doublings(size: object) -> int:
    """k for ``size`` = 7 x 2^k, k >= 1; a RecipeError (a ValueError) naming the allowed sizes otherwise."""
    k = 1
    while isinstance(size, int) and not isinstance(size, bool) and 7 * 2**k < size:
        k += 1
    if not (isinstance(size, int) and not isinstance(size, bool) and size == 7 * 2**k):
        raise RecipeError(f"moext: size must be 7 x 2^k with k >= 1 (14, 28, 56, 112, 224, 448, ...; the paper: 224), got {size!r}")
    return k


class ApexReconstructor(nn.Module):
    """Table 2: Concat(M, T_o) (B, 2 x feature_dim) -> reconstructed apex (B, out_channels, size, size) in (0, 1).

    Args:
        feature_dim: size of M and of T_o each.
        out_channels: image channels.
        size: output height and width, 7 x 2^k with k >= 1 (the paper: 224).
        width: w; the layers use 8w, ..., w channels and w / 2 in the last Conv blocks (w >= 2).
    """

    def __init__(self, feature_dim: int = 512, out_channels: int = 3, size: int = 224, width: int = 64):
        super().__init__()
        check_int("moext", "feature_dim", feature_dim, 1)
        check_int("moext", "out_channels", out_channels, 1)
        check_int("moext", "width", width, 2)
        k = doublings(size)
        self.feature_dim, self.out_channels, self.size, self.width = feature_dim, out_channels, size, width
        top = 8 * width
        self.to_8x8 = nn.Sequential(UpConv(2 * feature_dim, top), UpConv(top, top), UpConv(top, top))
        self.to_7x7 = nn.AvgPool2d(kernel_size=2, stride=1)
        # The i-th doubling from the end has width x 2^i channels (224: 512, 256, 128, 64), capped at 8w.
        channels, layers = top, []
        for i in reversed(range(k - 1)):
            out = min(top, width * 2**i)
            layers.append(UpConv(channels, out))
            channels = out
        self.doublings = nn.Sequential(*layers)
        half = width // 2
        self.refine = nn.Sequential(ConvBlock(channels, half), *(ConvBlock(half, half) for _ in range(4)))
        self.to_image = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(half, out_channels, kernel_size=3, padding=1))
        self.activation = nn.Sigmoid()

    def forward(self, motion_and_texture: torch.Tensor) -> torch.Tensor:
        check_shape(motion_and_texture, f"B {2 * self.feature_dim}", name="Concat(M, T_o)")
        x = self.to_7x7(self.to_8x8(motion_and_texture[:, :, None, None]))
        return self.activation(self.to_image(self.refine(self.doublings(x))))
