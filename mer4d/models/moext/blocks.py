"""The units MoExt is built of (R. Li et al., arXiv 2407.07345, Tables 1 and 2).

* :class:`ConvBlock`: the paper's Table 1 Conv block, {Conv(out, 3, 1), BN, ReLU} x 2, on maps;
* :class:`VectorBlock`: the same block on 1 x 1 maps (MoExt's features are vectors, Table 2
  starts from Concat 1024 x 1 x 1): a 3x3 convolution with padding 1 on a 1 x 1 map only ever
  multiplies its centre tap, so it is a Linear layer, and BatchNorm2d over a 1 x 1 map is
  BatchNorm1d over the batch; {Linear, BatchNorm1d, ReLU} x 2 is the block, written without the
  reshapes;
* :class:`UpConv`: a row of Table 2, {Upsampling(2), Conv2d(out, 3, 1), BN, ReLU}.

BatchNorm statistics need more than one value per channel in training: train on batches of
pairs (B >= 2), as the vector blocks have one value per sample and channel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    """Conv2d 3x3 stride 1 padding 1 (no bias: the BatchNorm right after has its own shift), BN, ReLU."""
    return [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


class ConvBlock(nn.Sequential):
    """Table 1: two {Conv(out, 3, 1), BN, ReLU}: (B, Cin, H, W) -> (B, Cout, H, W)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(*conv_bn_relu(in_channels, out_channels), *conv_bn_relu(out_channels, out_channels))


class VectorBlock(nn.Sequential):
    """Table 1's Conv block on a 1 x 1 map, i.e. on vectors: two {Linear, BatchNorm1d, ReLU}: (B, Fin) -> (B, Fout)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(
            nn.Linear(in_features, out_features, bias=False), nn.BatchNorm1d(out_features), nn.ReLU(inplace=True),
            nn.Linear(out_features, out_features, bias=False), nn.BatchNorm1d(out_features), nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and x.shape[0] == 1:
            # A batch of one vector has no variance to normalise by (BatchNorm1d refuses it); the last
            # batch of a training fold can be that small, so it is normalised with the running statistics.
            for layer in self:
                x = F.batch_norm(x, layer.running_mean, layer.running_var, layer.weight, layer.bias, False, 0.0, layer.eps) \
                    if isinstance(layer, nn.BatchNorm1d) else layer(x)
            return x
        return super().forward(x)


class UpConv(nn.Sequential):
    """A Table 2 row, {Upsampling(2), Conv2d(out, 3, 1), BN, ReLU}: (B, Cin, H, W) -> (B, Cout, 2H, 2W).

    Nearest-neighbour upsampling (the table names no mode; PyTorch's default), so the 3x3
    convolution after it is what smooths the enlarged map.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), *conv_bn_relu(in_channels, out_channels))
