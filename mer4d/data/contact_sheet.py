"""A PNG contact sheet of one clip of any dataset across its image modalities, for a person to look at."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.spec import Modality


def _pick(index: pd.DataFrame, clip: str | None) -> pd.Series:
    if clip is None:
        return index.iloc[0]
    hit = index[index["clip_id"] == clip]
    if hit.empty:
        raise DataError(f"clip '{clip}' is not in the index; examples: {list(index['clip_id'][:5])}")
    return hit.iloc[0]


def contact_sheet(index: pd.DataFrame, out: Path, clip: str | None = None, modalities: Mapping[str, Modality] | None = None) -> Path:
    """Onset, apex, offset (gray), apex-onset difference, and each other image modality at apex -> ``out`` PNG.

    ``modalities``: the spec's (default: 4DME's column names, gray first).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mer4d.data.readers import read_depth, read_frames

    modalities = dict(modalities or {"gray": Modality("gray_dir"), "rgb": Modality("rgb_dir", color="rgb", scale=2),
                                     "depth": Modality("depth_dir", reader="depth", scale=2)})
    images = {n: m for n, m in modalities.items() if m.reader != "mesh"}
    row = _pick(index, clip)
    main = next(m for m in images.values() if m.reader == "frames")
    gray, numbers = read_frames(row[main.column], row["onset"], row["offset"], color="gray")
    at = {n: i for i, n in enumerate(numbers)}
    onset, apex, offset = (gray[at[row[k]], 0].astype(np.float32) for k in ("onset", "apex", "offset"))
    panels = [("onset", onset, "gray", None), ("apex", apex, "gray", None), ("offset", offset, "gray", None)]
    diff = apex - onset
    limit = max(float(np.abs(diff).max()), 1.0)
    panels.append(("apex - onset", diff, "seismic", (-limit, limit)))
    for name, modality in images.items():
        folder, at_apex = row.get(modality.column), int(row["apex"]) // modality.scale
        if not folder or (modality.column == main.column and modality.color == "gray"):
            continue
        if modality.reader == "depth":
            depth, _ = read_depth(folder, at_apex, at_apex)
            panels.append((f"{name} mm (apex)", depth[0, 0], "viridis_r", None))
        elif modality.color == "rgb":
            rgb, _ = read_frames(folder, at_apex, at_apex, color="rgb")
            panels.append((f"{name} (apex)", rgb[0].transpose(1, 2, 0), None, None))
    fig, axes = plt.subplots(1, len(panels), figsize=(3 * len(panels), 3.4))
    for ax, (title, image, cmap, limits) in zip(axes, panels, strict=True):
        shown = ax.imshow(image, cmap=cmap, vmin=None if limits is None else limits[0], vmax=None if limits is None else limits[1])
        ax.set_title(title, fontsize=9)
        ax.axis("off")
        if cmap in ("seismic", "viridis_r"):
            fig.colorbar(shown, ax=ax, fraction=0.046)
    fig.suptitle(f"{row['clip_id']} ({row['kind']}) | {row['emotion']} | AUs {'+'.join(row['aus']) or '-'} | frames {row['onset']}-{row['apex']}-{row['offset']}", fontsize=10)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
