"""A left-only AU changes the left half of the face far more than the right, on the mesh and in a
rendered left view (the reason multi-view 4D can help)."""

import numpy as np

from mer4d.core.containers import Mesh
from mer4d.render import Rig, get_renderer
from mer4d.render.rig import project
from mer4d.synth.aus import au_displacement
from mer4d.synth.face import make_face
from mer4d.synth.identity import sample_identity


def test_left_only_au_is_seen_on_the_left_in_the_mesh_and_the_left_view():
    face = make_face(sample_identity(np.random.default_rng(0)), "quick")
    neutral = face.mesh.vertices
    moved = neutral + au_displacement(face, {"L12": 1.5})
    change = np.linalg.norm(moved - neutral, axis=1)
    left, right = change[neutral[:, 0] > 0].sum(), change[neutral[:, 0] < 0].sum()
    assert left > 5 * right

    rig = Rig.three_views(yaw_deg=30.0, size=128)
    renderer = get_renderer("open3d")
    before = renderer.render(face.mesh, rig, domains=("depth",)).depth[0]
    after = renderer.render(Mesh(moved, face.mesh.faces, face.mesh.uvs, face.mesh.texture), rig, domains=("depth",)).depth[0]
    view = rig.names.index("left")
    diff = np.nan_to_num(np.abs(after[view] - before[view]))
    # columns right of the projected midline show the subject's left side
    uv, _ = project(rig.views[view], face.landmark("nose_tip")[None])
    mid = int(round(float(uv[0, 0])))
    assert diff[:, mid:].sum() > 3 * diff[:, :mid].sum()
