"""Heatmaps logged by the analyses (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def heatmap(table: pd.DataFrame, title: str, colorbar: str, fmt: str = "{:.0%}", vmax: float | None = None, cmap: str = "viridis"):
    """A matplotlib Figure of ``table`` (rows x columns) with each cell's value written in it.

    ``fmt`` formats the cell text (a share as ``45%``, a count as ``{:d}``); empty (zero) cells get no text.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = table.to_numpy(dtype=float)
    rows, cols = values.shape
    top = vmax if vmax is not None else (float(np.nanmax(values)) if values.size and np.nanmax(values) > 0 else 1.0)
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 + 0.48 * cols), max(2.6, 1.4 + 0.42 * rows)))
    image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=top, aspect="auto")
    ax.set_xticks(range(cols), [str(c) for c in table.columns], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(rows), [str(r) for r in table.index], fontsize=8)
    ax.set_xlabel(str(table.columns.name or ""))
    ax.set_ylabel(str(table.index.name or ""))
    ax.set_title(title, fontsize=10)
    for (i, j), value in np.ndenumerate(values):
        if value > 0:
            text = fmt.format(int(round(value))) if "d}" in fmt else fmt.format(value)
            r, g, b, _ = image.cmap(image.norm(value))  # dark text on light cells, light on dark, whatever the colour map
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color="black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white")
    fig.colorbar(image, ax=ax, label=colorbar, fraction=0.04)
    fig.tight_layout()
    return fig
