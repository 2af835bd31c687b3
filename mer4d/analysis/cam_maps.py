"""Class-averaged CAMs: one map per AU and per emotion, their Pearson table and the image grid.

A run's model has logits for its own classes (emotions, or AUs for ``dataset.task: au``). Its
maps for the *other* label set come from the clips' own labels:

* an own class k: the mean, over the test clips labelled k, of each clip's CAM for logit k;
* a group g of the other label set (an AU for an emotion model, an emotion for an AU model):
  the mean, over the test clips in g, of each clip's CAM averaged over the logits of the classes
  it is labelled with ("where the model looks on clips showing g"). Clips labelled with none of
  the model's classes are left out of these maps.

The 4DME paper (§5.3.1, Table 9) trains one Res3D for AUs and one for emotions and correlates
their maps; one run gives one of the two sets from logits. Pearson's r of two maps is taken over
all their pixels (every view for multi-view models), as in ``algorithms.md`` §12.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mer4d.core.markdown import markdown_rows

AU, EMOTION = "AU", "emotion"


@dataclass(frozen=True)
class GroupMaps:
    """Averaged maps, in row order: ``kind`` (AU / emotion), ``name``, ``source`` (logit / labels), ``clips`` per row."""

    kinds: tuple[str, ...]
    names: tuple[str, ...]
    sources: tuple[str, ...]
    clips: tuple[int, ...]
    maps: np.ndarray  # (G, V, H, W) float64, NaN where a group has no clip
    background: np.ndarray  # (V, H, W) the mean input of the test clips (the "mean face"), in [0, 1]
    views: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]  # per row: the corpus rows (clips) averaged into it

    def of(self, kind: str) -> list[int]:
        """Row numbers of ``kind`` with at least one clip."""
        return [i for i, k in enumerate(self.kinds) if k == kind and self.clips[i] > 0]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"kind": self.kinds, "name": self.names, "source": self.sources, "clips": self.clips})


class CamAccumulator:
    """Running sums of per-clip CAMs into class and group means (no per-clip maps are kept).

    Args:
        own_kind: AU or emotion: what the model's logits are.
        classes: the model's classes, in logit order.
        groups: names of the other label set's groups.
        views: view names (one entry "" for single-image models).
    """

    def __init__(self, own_kind: str, classes: tuple[str, ...], groups: tuple[str, ...], views: tuple[str, ...]):
        self.own_kind, self.classes, self.groups, self.views = own_kind, classes, groups, views
        self.class_sum: np.ndarray | None = None
        self.group_sum: np.ndarray | None = None
        self.background: np.ndarray | None = None
        self.class_count = np.zeros(len(classes), dtype=np.int64)
        self.group_count = np.zeros(len(groups), dtype=np.int64)
        self.class_rows: list[list[int]] = [[] for _ in classes]
        self.group_rows: list[list[int]] = [[] for _ in groups]
        self.clips = 0

    def add(self, maps: np.ndarray, positives: np.ndarray, members: np.ndarray, inputs: np.ndarray, rows: np.ndarray) -> None:
        """One batch: ``maps`` (B, V, K, H, W), ``positives`` (B, K) bool (the clip's own-class labels),
        ``members`` (B, G) bool (its groups of the other label set), ``inputs`` (B, V, H, W) its mean
        frame, ``rows`` (B,) its corpus row positions."""
        b, v, k, h, w = maps.shape
        if self.class_sum is None:
            self.class_sum = np.zeros((k, v, h, w))
            self.group_sum = np.zeros((len(self.groups), v, h, w))
            self.background = np.zeros((v, h, w))
        pos = positives.astype(np.float64)
        self.class_sum += np.einsum("bk,bvkhw->kvhw", pos, maps)
        self.class_count += positives.sum(axis=0)
        labelled = pos.sum(axis=1)
        own = np.einsum("bk,bvkhw->bvhw", pos, maps) / np.maximum(labelled, 1)[:, None, None, None]  # mean over the clip's own classes
        use = members & (labelled > 0)[:, None]
        self.group_sum += np.einsum("bg,bvhw->gvhw", use.astype(np.float64), own)
        self.group_count += use.sum(axis=0)
        self.background += inputs.sum(axis=0)
        self.clips += b
        for k in range(len(self.classes)):
            self.class_rows[k] += [int(r) for r in rows[positives[:, k]]]
        for g in range(len(self.groups)):
            self.group_rows[g] += [int(r) for r in rows[use[:, g]]]

    def result(self) -> GroupMaps:
        if self.class_sum is None:
            raise ValueError("CamAccumulator: no clip was added")
        with np.errstate(invalid="ignore", divide="ignore"):
            own = self.class_sum / self.class_count[:, None, None, None]
            other = self.group_sum / self.group_count[:, None, None, None]
        other_kind = EMOTION if self.own_kind == AU else AU
        rows = [(self.own_kind, c, "logit", int(n), m, tuple(r)) for c, n, m, r in zip(self.classes, self.class_count, own, self.class_rows, strict=True)]
        rows += [(other_kind, g, "labels", int(n), m, tuple(r)) for g, n, m, r in zip(self.groups, self.group_count, other, self.group_rows, strict=True)]
        rows.sort(key=lambda r: r[0] != AU)  # AU rows first, as Table 9
        background = self.background / self.clips
        low, high = background.min(axis=(1, 2), keepdims=True), background.max(axis=(1, 2), keepdims=True)
        background = (background - low) / np.where(high > low, high - low, 1.0)
        return GroupMaps(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows), tuple(r[3] for r in rows),
                         np.stack([r[4] for r in rows]), background, self.views, tuple(r[5] for r in rows))


def pearson(u: np.ndarray, v: np.ndarray) -> float:
    """Pearson's r of two maps over all their pixels; NaN when one is constant."""
    a, b = np.ravel(u).astype(np.float64), np.ravel(v).astype(np.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def correlation_table(result: GroupMaps) -> pd.DataFrame:
    """The 4DME Table 9 layout: rows AUs then emotions, columns AUs, cells Pearson's r of their averaged maps."""
    aus, rows = result.of(AU), result.of(AU) + result.of(EMOTION)
    table = pd.DataFrame([[pearson(result.maps[r], result.maps[c]) for c in aus] for r in rows],
                         index=[result.names[r] for r in rows], columns=[result.names[c] for c in aus])
    return table.rename_axis("r")


def overlay(background: np.ndarray, cam: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1]: the gray mean face under the CAM in the jet colour map (alpha 0.5)."""
    from matplotlib import colormaps

    peak = np.nanmax(cam) if np.isfinite(cam).any() else 0.0
    heat = colormaps["jet"](np.nan_to_num(cam / peak) if peak > 0 else np.zeros_like(cam))[..., :3]
    return 0.5 * np.repeat(background[..., None], 3, axis=2) + 0.5 * heat


def grid_figure(result: GroupMaps, title: str, columns: int = 6):
    """The averaged maps over the mean face: the AU panels, then the emotion panels (views side by side in a panel)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = result.of(AU) + result.of(EMOTION)
    sections = [result.of(kind) for kind in (AU, EMOTION) if result.of(kind)]
    rows = max(1, sum(-(-len(items) // columns) for items in sections))
    views = len(result.views)
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns * max(1, views * 0.8), 2.1 * rows + 0.5), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    r = 0
    for items in sections:
        for j, g in enumerate(items):
            ax = axes[r + j // columns, j % columns]
            panel = np.concatenate([overlay(result.background[v], result.maps[g, v]) for v in range(views)], axis=1)
            ax.imshow(panel, interpolation="nearest")
            source = "" if result.sources[g] == "logit" else " *"
            ax.set_title(f"{result.names[g]}{source}  (n={result.clips[g]})", fontsize=8)
        r += -(-len(items) // columns)
    if not order:
        axes[0, 0].text(0.5, 0.5, "no class had a test clip", ha="center")
    note = "  * averaged over the clips' own-class maps" if any(result.sources[g] == "labels" for g in order) else ""
    view_note = f"  views: {', '.join(result.views)}" if views > 1 else ""
    fig.suptitle(f"{title}{view_note}{note}", fontsize=9)
    fig.tight_layout()
    return fig


def markdown(table: pd.DataFrame, digits: int = 2) -> str:
    """A DataFrame as a GitHub markdown table (index as the first column)."""
    head = [table.index.name or "", *map(str, table.columns)]
    rows = ([str(name), *(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row)] for name, row in table.iterrows())
    return markdown_rows(head, rows)
