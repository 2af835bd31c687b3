"""sca: second-order spatio-channel attention (SCA) for 3-D feature maps, and its Res3D host.

``algorithms.md`` §6. The 4DME paper's SCA baseline is most likely Li, Huang and Zhao
(Neurocomputing 2021), whose abstract uses "self high-order statistics" of channel- and
position-wise features as attention; its layer details were not available, so the block follows
GSoP (Gao et al., "Global Second-order Pooling Convolutional Networks", CVPR 2019, '+' mode),
with 3-D convolutions and a (T_p, 8, 8) position grid instead of 8 x 8.

:class:`SCA3d` maps a feature map X (B, C, T, H, W) to Y = X * a_c + ReLU(X * a_s) of the same shape:

* **channel attention** a_c (B, C, 1, 1, 1): ReLU, 1x1x1 conv C -> C' (C' = min(reduced, C)), BN,
  ReLU; the C' x C' covariance over the M = T H W positions, Σ = X Î Xᵀ with the MPNCOV centring
  Î = (1/M)(I - 11ᵀ/M); BN over its rows; a row-wise conv (group conv, one group per row, each
  row -> 4 values) to 4C'; a 1x1 conv to C; sigmoid.
* **spatial attention** a_s (B, 1, T, H, W): ReLU, 1x1x1 conv C -> C', BN, adaptive average pool to
  the grid (T_p, 8, 8) = N positions; the N x N covariance *between positions* with the C'
  channels as samples, Σ_s = Zᵀ Î_{C'} Z; BN over rows; row-wise conv to 4N; ReLU; 1x1 conv to N;
  sigmoid; reshaped to the grid and resized back to T x H x W by adaptive average pooling (an
  "unpool": replication when T, H, W exceed the grid, averaging when they are smaller).

The covariances are computed in float32 with autocast off: under fp16/bf16 the sums of M products
lose precision and can overflow, and the BN right after rescales them anyway (§6 pitfalls).

Differences from the GSoP code, on purpose: the 1x1 reduction convs have no bias (the BN after
them removes it, and its gradient would be exactly zero, which the registry contract forbids);
no stride-2 reduction for narrow layers (3-D maps at stages 3-4 have few positions already); the
spatial covariance centres exactly over the C' channels and divides by C' (the reference's
``cov_feature`` builds its C' x C' centring matrix with 1/(HW), which centres only when C' = HW).
The spatial branch starts with a ReLU as the reference ``pos_att`` does.

**Where the block sits** (:class:`Res3DSCA`): inside every BasicBlock of the chosen stages
(default stages 3 and 4), on the residual branch after the second conv + BN and before the
residual addition, as GSoP places it in its bottlenecks. On the branch, the attention rescales
only what the block adds, so the identity path stays intact and an unhelpful attention cannot
block the signal (the reason SE and GSoP sit there). Stages 3-4 only: the covariances cost
O(C'^2 M + N^2 C') per block, and there the maps (14 x 14 and 7 x 7 at 112 px) are about the
8 x 8 grid, so the spatial attention is nearly per position; Li et al.'s placement is unverified.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from mer4d.core.errors import RecipeError
from mer4d.core.shapes import check_shape
from mer4d.models.clip_input import CLIPS, check_int
from mer4d.models.registry import ModelInfo, register_model
from mer4d.models.res3d import Res3D

STAGES = (1, 2, 3, 4)


def covariance(x: torch.Tensor) -> torch.Tensor:
    """Covariance of V variables over S samples: (B, V, S) -> (B, V, V), float32 or wider.

    Σ = X Î Xᵀ with Î = (1/S)(I - 11ᵀ/S) (MPNCOV's CovpoolLayer): the biased (1/S) covariance.
    Computed as X_c X_cᵀ / S with X_c = X minus its per-variable mean (Î is a scaled projector),
    which avoids the S x S matrix. Autocast is turned off and fp16/bf16 input promoted to float32
    (a float64 model stays float64).
    """
    sizes = check_shape(x, "B V S", name="covariance input")
    with torch.autocast(device_type=x.device.type, enabled=False):
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        centred = x - x.mean(dim=2, keepdim=True)
        return centred @ centred.transpose(1, 2) / sizes["S"]


class SCA3d(nn.Module):
    """GSoP-style second-order spatio-channel attention: (B, C, T, H, W) -> (B, C, T, H, W).

    Needs M = T H W >= 2 positions: the covariance of a single position is 0, so the channel
    attention is then a constant (and its reduction conv gets no gradient); R3D-18's stage 4 has
    1 x 4 x 4 positions for 8 x 64 x 64 clips, 2 x 7 x 7 for 10 x 112 x 112.

    Args:
        channels: C, the channels of the feature map.
        reduced: C' upper bound; the branches work on C' = min(reduced, C) channels (GSoP: 128).
        grid: (T_p, H_p, W_p) pooled position grid of the spatial branch, N = T_p H_p W_p
            positions (GSoP's 2-D grid is 8 x 8; keep N <= 128, the cost is O(N^2)).
    """

    def __init__(self, channels: int, reduced: int = 128, grid: tuple[int, int, int] = (1, 8, 8)):
        super().__init__()
        check_int("sca", "channels", channels, 1)
        check_int("sca", "reduced (sca_channels)", reduced, 1)
        if len(grid) != 3:
            raise RecipeError(f"sca: grid must be (T_p, H_p, W_p), got {grid!r}; e.g. (1, 8, 8)")
        for size in grid:
            check_int("sca", "grid size", size, 1)
        self.channels = channels
        self.grid = tuple(grid)
        c_red = min(reduced, channels)
        n_pos = grid[0] * grid[1] * grid[2]
        self.reduced, self.positions = c_red, n_pos
        # Channel branch. ReLU not in place: X itself is reused in the fusion.
        self.channel_reduce = nn.Sequential(nn.ReLU(), nn.Conv3d(channels, c_red, 1, bias=False), nn.BatchNorm3d(c_red), nn.ReLU())
        self.channel_row_bn = nn.BatchNorm1d(c_red)
        # Row-wise conv: group i sees covariance row i only (kernel = the row length) -> 4 values.
        self.channel_row_conv = nn.Conv1d(c_red, 4 * c_red, kernel_size=c_red, groups=c_red)
        self.channel_fc = nn.Conv1d(4 * c_red, channels, kernel_size=1)
        # Spatial (position) branch.
        self.spatial_reduce = nn.Sequential(nn.ReLU(), nn.Conv3d(channels, c_red, 1, bias=False), nn.BatchNorm3d(c_red), nn.AdaptiveAvgPool3d(self.grid))
        self.spatial_row_bn = nn.BatchNorm1d(n_pos)
        self.spatial_row_conv = nn.Conv1d(n_pos, 4 * n_pos, kernel_size=n_pos, groups=n_pos)
        self.spatial_fc = nn.Sequential(nn.ReLU(), nn.Conv1d(4 * n_pos, n_pos, kernel_size=1))
        self._init_weights()

    def _init_weights(self) -> None:
        # GSoP's ResNet init (Kaiming-normal fan-out for every conv, BN 1/0) applied to the block
        # itself, so it does not depend on the host; zero biases start the sigmoids near 1/2.
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv3d)):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm3d)):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """a_c (B, C, 1, 1, 1) in (0, 1) of a feature map (B, C, T, H, W)."""
        z = self.channel_reduce(x).flatten(2)                    # (B, C', M)
        cov = self.channel_row_bn(covariance(z))                 # (B, C', C'), rows normalised
        att = self.channel_fc(self.channel_row_conv(cov))        # (B, 4C', 1) -> (B, C, 1)
        return torch.sigmoid(att).unsqueeze(-1).unsqueeze(-1)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """a_s (B, 1, T, H, W) in (0, 1) of a feature map (B, C, T, H, W)."""
        z = self.spatial_reduce(x).flatten(2)                    # (B, C', N)
        cov = self.spatial_row_bn(covariance(z.transpose(1, 2)))  # (B, N, N): positions over channels
        att = torch.sigmoid(self.spatial_fc(self.spatial_row_conv(cov)))  # (B, N, 1)
        att = att.view(x.shape[0], 1, *self.grid)
        return F.adaptive_avg_pool3d(att, x.shape[2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Y = X * a_c + ReLU(X * a_s) (GSoP '+' fusion), shape (B, C, T, H, W) kept."""
        check_shape(x, "B C T H W", name="SCA features", bound={"C": self.channels})
        return x * self.channel_attention(x) + F.relu(x * self.spatial_attention(x))


def check_stages(model: str, stages: object) -> tuple[int, ...]:
    """Validated stage numbers (subset of 1..4, sorted, no repeats) from a recipe value."""
    if isinstance(stages, int) and not isinstance(stages, bool):
        stages = [stages]
    if not isinstance(stages, (list, tuple)):
        raise RecipeError(f"{model}: sca_stages must be a list of stage numbers in 1..4, got {stages!r}; e.g. sca_stages=[3, 4]")
    for s in stages:
        if isinstance(s, bool) or not isinstance(s, int) or s not in STAGES:
            raise RecipeError(f"{model}: sca_stages holds {s!r}; the stages are 1, 2, 3, 4 (e.g. sca_stages=[3, 4])")
    if len(set(stages)) != len(stages):
        raise RecipeError(f"{model}: sca_stages repeats a stage: {list(stages)}")
    return tuple(sorted(stages))


class Res3DSCA(Res3D):
    """R3D-18 with :class:`SCA3d` in the BasicBlocks of chosen stages: (B, C, T, H, W) -> (B, K) logits.

    Args:
        num_classes, in_channels, dropout, width, remove_static: as :class:`~mer4d.models.res3d.Res3D`.
        sca_stages: stages (1-4) whose two BasicBlocks get an SCA block (default 3 and 4); empty
            gives plain Res3D (an ablation).
        sca_channels: C' of the SCA branches, min(sca_channels, stage channels).
        sca_grid: pooled position grid of the spatial attention (N = T_p H_p W_p positions).

    Shapes:
        input (B, C, T, H, W); features (B, 8 * width); logits (B, K). Besides the ``attention``
        modules of the chosen blocks, parameters and layout equal Res3D's.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        dropout: float = 0.0,
        width: int = 64,
        remove_static: bool = False,
        sca_stages: Sequence[int] = (3, 4),
        sca_channels: int = 128,
        sca_grid: tuple[int, int, int] = (1, 8, 8),
    ):
        stages = check_stages("res3d_sca", sca_stages)
        check_int("res3d_sca", "sca_channels", sca_channels, 1)
        super().__init__(num_classes=num_classes, in_channels=in_channels, dropout=dropout, width=width, remove_static=remove_static)
        self.sca_stages = stages
        for stage in stages:
            for block in getattr(self, f"layer{stage}"):
                block.attention = SCA3d(block.bn2.num_features, reduced=sca_channels, grid=sca_grid)


@register_model("res3d_sca", info=ModelInfo(kind="torch", input=CLIPS))
def res3d_sca(
    num_classes: int,
    in_channels: int,
    dropout: float = 0.0,
    width: int = 64,
    remove_static: bool = False,
    sca_stages: Sequence[int] = (3, 4),
    sca_channels: int = 128,
) -> Res3DSCA:
    """R3D-18 with GSoP second-order spatio-channel attention in the blocks of sca_stages (default 3, 4)."""
    return Res3DSCA(**locals())  # the options are named above (for recipe checks) and passed on unchanged
