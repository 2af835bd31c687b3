"""MoExt's pre-training loop (arXiv 2407.07345 §3.5, Eq. 9) and the reconstruction image a person looks at.

Per batch of n onset/apex pairs: the view-expansion sets (2m instances per pair) go through the
separator in one call; the apex is rebuilt from the *original* frames (view 0); L_re on that
reconstruction, L_st over every instance, L_oa within each pair's set. A loss whose weight is 0
is not computed (Table 7's ablations).

The network is any module with ``separate``, ``extract_motion``, ``reconstruct`` and ``project``
(:class:`mer4d.models.moext.MoExtPretrainNet`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mer4d.core.errors import RecipeError
from mer4d.core.progress import progress_bar
from mer4d.losses.moext import moext_pretrain_loss, onset_apex_loss, reconstruction_l1, shape_texture_term
from mer4d.recipes.schema import PretrainCfg
from mer4d.train.engine import pick_device, seed_everything
from mer4d.train.view_expansion import expand_views


@dataclass(frozen=True)
class PretrainResult:
    history: list[dict[str, float]]  # per epoch: loss, re, st, oa (0 for a term left out), lr


def batch_losses(net, onset: torch.Tensor, apex: torch.Tensor, cfg: PretrainCfg, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """The loss terms of one batch of pairs (n, C, H, W)."""
    n, m = len(onset), cfg.views
    onset_views, apex_views = expand_views(onset.cpu(), apex.cpu(), m, generator)
    device = onset.device
    # instances ordered (pair, frame, view): pair i's onset views, then its apex views
    frames = torch.stack([onset_views, apex_views], dim=1).reshape(n * 2 * m, *onset.shape[1:]).to(device)
    shape, texture = net.separate(frames)
    shape_pairs = shape.view(n, 2, m, -1)
    texture_pairs = texture.view(n, 2, m, -1)
    reconstruction = net.reconstruct(net.extract_motion(shape_pairs[:, 0, 0], shape_pairs[:, 1, 0]), texture_pairs[:, 0, 0])
    terms = {"re": reconstruction_l1(reconstruction, apex)}
    f_shape = net.project(shape) if cfg.alpha_st or cfg.alpha_oa else None  # one projection serves both contrastive losses
    terms["st"] = shape_texture_term(net.project, shape, texture, cfg.margin, f_shape) if cfg.alpha_st else None
    terms["oa"] = None
    if cfg.alpha_oa:
        is_apex = torch.arange(2, device=device).repeat_interleave(m).repeat(n).bool()
        set_ids = torch.arange(n, device=device).repeat_interleave(2 * m)
        terms["oa"] = onset_apex_loss(f_shape, is_apex, set_ids, cfg.margin)
    terms["loss"] = moext_pretrain_loss(terms["re"], terms["st"], terms["oa"], cfg.alpha_st, cfg.alpha_oa)
    return terms


def pretrain(net: torch.nn.Module, onset, apex, cfg: PretrainCfg, *, seed: int, device: str = "auto", progress: bool = True,
             on_epoch: Callable[[int, dict[str, float]], None] | None = None) -> PretrainResult:
    """Train ``net`` in place on pairs ``onset``, ``apex`` (N, C, H, W) in [0, 1] for ``cfg.epochs`` epochs (Adam)."""
    onset, apex = torch.as_tensor(np.asarray(onset), dtype=torch.float32), torch.as_tensor(np.asarray(apex), dtype=torch.float32)
    if onset.shape != apex.shape or onset.ndim != 4:
        raise RecipeError(f"pre-training pairs: onset and apex must both be (N, C, H, W), got {tuple(onset.shape)} and {tuple(apex.shape)}")
    if len(onset) < 2:
        raise RecipeError(f"pre-training needs at least 2 onset/apex pairs (the batch-mean anchor and BatchNorm), got {len(onset)}")
    seed_everything(seed)
    target = pick_device(device)
    net.to(target).train()
    # the paper's "momentum 0.9" is Adam's beta1
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.999))
    generator = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    bar = progress_bar(range(1, cfg.epochs + 1), desc="pre-training epochs", disable=not progress, unit="epoch")
    for epoch in bar:
        order = torch.randperm(len(onset), generator=generator)
        batches = [order[i : i + cfg.batch_size] for i in range(0, len(order), cfg.batch_size)]
        if len(batches) > 1 and len(batches[-1]) < 2:  # a batch of one has no anchor and breaks BatchNorm
            batches[-2] = torch.cat(batches[-2:])
            batches.pop()
        sums = {"loss": 0.0, "re": 0.0, "st": 0.0, "oa": 0.0}
        for picked in batches:
            terms = batch_losses(net, onset[picked].to(target), apex[picked].to(target), cfg, generator)
            optimizer.zero_grad(set_to_none=True)
            terms["loss"].backward()
            optimizer.step()
            for key in sums:
                sums[key] += 0.0 if terms[key] is None else float(terms[key].detach()) * len(picked)
        record = {k: v / len(onset) for k, v in sums.items()} | {"lr": optimizer.param_groups[0]["lr"]}
        history.append(record)
        bar.set_postfix({k: f"{record[k]:.3g}" for k in ("loss", "re")})
        if on_epoch is not None:
            on_epoch(epoch, record)
    return PretrainResult(history)


@torch.no_grad()
def reconstruction_examples(net, onset, apex, k: int) -> dict[str, np.ndarray]:
    """The first ``k`` pairs' onset, apex, reconstructed apex and |apex - reconstruction|, (k, C, H, W) each."""
    net.eval()
    device = next(net.parameters()).device
    o = torch.as_tensor(np.asarray(onset[:k]), dtype=torch.float32, device=device)
    a = torch.as_tensor(np.asarray(apex[:k]), dtype=torch.float32, device=device)
    shape_o, texture_o = net.separate(o)
    shape_a, _ = net.separate(a)
    rebuilt = net.reconstruct(net.extract_motion(shape_o, shape_a), texture_o).clamp(0, 1)
    out = {"onset": o, "apex": a, "reconstruction": rebuilt, "difference": (a - rebuilt).abs()}
    return {key: value.cpu().numpy() for key, value in out.items()}


def example_grid(examples: dict[str, np.ndarray]) -> np.ndarray:
    """One row per pair: onset | apex | reconstructed apex | |apex - reconstruction| as (H', W', 3) uint8.

    The difference column is scaled to its own maximum over the grid (else a good reconstruction
    is a black square); its scale is the same for every row, so rows compare.
    """
    diff = examples["difference"]
    scale = float(diff.max()) if diff.size and diff.max() > 0 else 1.0
    columns = [examples["onset"], examples["apex"], examples["reconstruction"], diff / scale]
    rows = []
    for i in range(len(examples["onset"])):
        tiles = [np.clip(c[i], 0, 1) for c in columns]
        tiles = [np.repeat(t, 3, axis=0) if t.shape[0] == 1 else t for t in tiles]
        separator = np.ones((3, tiles[0].shape[1], 2), dtype=np.float32)
        row = np.concatenate([x for t in tiles for x in (t, separator)][:-1], axis=2)
        rows.append(row)
        rows.append(np.ones((3, 2, row.shape[2]), dtype=np.float32))
    grid = np.concatenate(rows[:-1], axis=1)
    return (grid.transpose(1, 2, 0) * 255).round().astype(np.uint8)


def save_png(grid: np.ndarray, path: Path) -> None:
    """Write an (H, W, 3) RGB uint8 image."""
    import cv2

    if not cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write the image {path}")
