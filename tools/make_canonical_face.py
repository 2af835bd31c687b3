"""Write the ICP template face (``mer4d/geometry/assets/canonical_face.npz``) from the simulator.

The template is the simulator's average adult (``Identity()`` defaults) at the "quick" resolution,
in the canonical frame of :mod:`mer4d.geometry.template`. It is shipped as a file so that aligning
real clips never runs simulator code; rerun this script only on purpose (a new template changes
every ICP-aligned clip, so bump the ``dynamic`` cache version in ``mer4d/pipeline/meshes.py`` too).
``tests/geometry/test_canonical_face.py`` fails while the file and the simulator disagree.

Usage:
    python tools/make_canonical_face.py [--out mer4d/geometry/assets/canonical_face.npz]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mer4d.geometry.template import CANONICAL_FACE_FILE

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "mer4d" / "geometry" / CANONICAL_FACE_FILE


def simulated_template() -> dict[str, np.ndarray]:
    """The arrays the file holds: ``vertices`` as the simulator makes them (float32 mm), ``faces`` int32."""
    from mer4d.synth.face import make_face
    from mer4d.synth.identity import Identity

    mesh = make_face(Identity(), "quick").mesh
    faces = np.asarray(mesh.faces)
    if faces.max() > np.iinfo(np.int32).max:
        raise SystemExit(f"the template has {faces.max() + 1} vertices, too many for int32 face indices")
    return {"vertices": np.asarray(mesh.vertices, dtype=np.float32), "faces": faces.astype(np.int32)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    args = parser.parse_args()
    arrays = simulated_template()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}: {len(arrays['vertices'])} vertices, {len(arrays['faces'])} faces, {args.out.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
