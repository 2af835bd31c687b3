"""Byte-deterministic file writers used by the simulator (same inputs -> same bytes)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

FIXED_ZIP_TIME = (2020, 1, 1, 0, 0, 0)
_FIXED_XML_TIME = "2020-01-01T00:00:00Z"


def write_ply(path: Path, vertices: np.ndarray, faces: np.ndarray, colors: np.ndarray) -> None:
    """Binary little-endian PLY with float32 xyz, uint8 rgb per vertex and triangle faces."""
    n, f = len(vertices), len(faces)
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment mer4d simulator\n"
        f"element vertex {n}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {f}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    vert = np.empty(n, dtype=[("xyz", "<f4", 3), ("rgb", "u1", 3)])
    vert["xyz"], vert["rgb"] = vertices, colors
    face = np.empty(f, dtype=[("count", "u1"), ("idx", "<i4", 3)])
    face["count"], face["idx"] = 3, faces
    with open(path, "wb") as out:
        out.write(header.encode("ascii"))
        out.write(vert.tobytes())
        out.write(face.tobytes())


def write_xlsx(path: Path, table: pd.DataFrame, *, header: bool = True, sheet_name: str = "Sheet1") -> None:
    """An .xlsx whose bytes depend only on ``table``: zip entry times and document dates are fixed.

    ``header=False`` writes the rows only (layouts whose title rows or blank header cells are
    part of ``table`` itself).
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, index=False, header=header, sheet_name=sheet_name)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name in sorted(source.namelist()):
            data = source.read(name)
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>" + _FIXED_XML_TIME.encode(), data)
            info = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
