"""Cameras as data: view geometry, ray/projection consistency and value checks (no open3d needed)."""

import subprocess
import sys

import numpy as np
import pytest

from mer4d.core import MissingDependencyError, ShapeError, UnknownNameError
from mer4d.render import Rendered, Rig, RigError, View, camera_frame, check_domains, get_renderer, project, view_rays


def test_front_camera_sits_on_plus_z_with_subject_left_on_image_right():
    eye, rot = camera_frame(View("front"))
    np.testing.assert_allclose(eye, [0, 0, 600])
    np.testing.assert_allclose(rot, [[1, 0, 0], [0, 1, 0], [0, 0, -1]], atol=1e-12)


def test_positive_yaw_moves_camera_to_subject_left_and_pitch_up():
    eye, rot = camera_frame(View("left", yaw_deg=30))
    assert eye[0] > 0 and eye[2] > 0
    np.testing.assert_allclose(rot[2], -eye / np.linalg.norm(eye))
    eye_up, _ = camera_frame(View("up", pitch_deg=20))
    assert eye_up[1] > 0
    np.testing.assert_allclose(np.linalg.norm(eye_up), 600)


def test_rotation_is_orthonormal_right_handed():
    _, rot = camera_frame(View("v", yaw_deg=-40, pitch_deg=25, target=(1, 2, 3)))
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(rot) == pytest.approx(-1.0)  # rows right, up, forward: forward = -(right x up)


def test_three_views_names_and_yaws():
    rig = Rig.three_views(yaw_deg=25, size=64)
    assert rig.names == ("left", "front", "right")
    assert [v.yaw_deg for v in rig.views] == [25, 0, -25]
    assert (rig.height, rig.width, len(rig)) == (64, 64, 3)
    assert Rig.front(size=32).names == ("front",)
    assert Rig.from_names(["right", "front"], yaw_deg=10, size=16, projection="pinhole").views[0].yaw_deg == -10


@pytest.mark.parametrize("projection", ["orthographic", "pinhole"])
def test_project_inverts_view_rays(projection):
    view = View("v", yaw_deg=20, pitch_deg=-10, projection=projection, width=40, height=30, target=(5, -3, 10))
    origins, dirs = view_rays(view)
    assert origins.shape == dirs.shape == (30, 40, 3)
    depth = 250.0
    points = (origins + depth * dirs).reshape(-1, 3)
    uv, z = project(view, points)
    rows, cols = np.mgrid[0:30, 0:40]
    np.testing.assert_allclose(uv.reshape(30, 40, 2), np.stack([cols, rows], -1), atol=1e-3)
    np.testing.assert_allclose(z, depth, rtol=1e-5)


def test_target_projects_to_the_image_centre():
    for view in (View("o", yaw_deg=30, target=(10, 20, 30)), View("p", projection="pinhole", pitch_deg=15, width=100, height=60)):
        uv, depth = project(view, np.array([view.target]))
        np.testing.assert_allclose(uv[0], [(view.width - 1) / 2, (view.height - 1) / 2], atol=1e-3)
        assert depth[0] == pytest.approx(view.distance_mm)


def test_pinhole_fov_spans_the_image_width():
    view = View("p", projection="pinhole", fov_deg=60, width=101, height=101, distance_mm=500)
    _, dirs = view_rays(view)
    half = np.degrees(np.arctan(np.abs(dirs[50, 0, 0]) / 1.0))
    # The outer pixel centre lies half a pixel inside the image edge at 30 degrees.
    assert half == pytest.approx(np.degrees(np.arctan(np.tan(np.radians(30)) * 100 / 101)), abs=1e-4)


def test_point_behind_pinhole_camera_has_nan_uv():
    uv, depth = project(View("p", projection="pinhole"), np.array([[0.0, 0.0, 700.0]]))
    assert np.isnan(uv).all() and depth[0] < 0


def test_project_checks_shape():
    with pytest.raises(ShapeError, match=r"points: expected shape \(N, 3\)"):
        project(View("v"), np.zeros((4, 2)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 0}, "width must be a positive integer"),
        ({"height": -3}, "height must be a positive integer"),
        ({"width": 22.5}, "width must be a positive integer"),
        ({"extent_mm": 0}, "extent_mm must be > 0"),
        ({"fov_deg": 0}, "fov_deg must lie strictly between 0 and 180"),
        ({"fov_deg": 180}, "fov_deg must lie strictly between 0 and 180"),
        ({"distance_mm": -1}, "distance_mm must be > 0"),
        ({"pitch_deg": 90}, "pitch_deg must lie strictly between -90 and 90"),
        ({"yaw_deg": float("nan")}, "yaw_deg must be a finite number"),
        ({"projection": "pinhol"}, "did you mean 'pinhole'"),
        ({"target": (0, 0)}, "target must be three numbers"),
    ],
)
def test_bad_view_values_raise(kwargs, message):
    with pytest.raises(RigError, match=message):
        View("bad", **kwargs)


def test_rig_errors():
    with pytest.raises(RigError, match="at least one View"):
        Rig(())
    with pytest.raises(RigError, match="unique"):
        Rig((View("a"), View("a")))
    with pytest.raises(RigError, match="one image size"):
        Rig((View("a", width=10), View("b", width=20)))
    with pytest.raises(RigError, match="View objects"):
        Rig(("front",))
    with pytest.raises(UnknownNameError, match="did you mean 'left'"):
        Rig.from_names(["lef"])
    with pytest.raises(RigError, match="positive integer"):
        Rig.front(size=0)
    assert isinstance(RigError("x"), ValueError)


def test_rig_is_hashable_and_coerces_lists():
    rig = Rig([View("a", target=[1, 2, 3])])
    assert isinstance(rig.views, tuple) and rig.views[0].target == (1.0, 2.0, 3.0)
    assert hash(rig) == hash(Rig((View("a", target=(1, 2, 3)),)))


def test_get_renderer_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'open3d'"):
        get_renderer("open3dd")
    try:
        import pytorch3d  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="Optional: PyTorch3D"):
            get_renderer("pytorch3d")


def test_check_domains():
    assert check_domains(["depth", "normals", "depth"]) == ("depth", "normals")
    assert check_domains("texture") == ("texture",)
    with pytest.raises(UnknownNameError, match="did you mean 'normals'"):
        check_domains(["normal"])


def test_rendered_checks_shapes_and_names():
    depth = np.zeros((2, 3, 4, 5), np.float32)
    out = Rendered(depth, None, np.zeros((2, 3, 4, 5, 3), np.float32), depth > 0, ["l", "f", "r"])
    assert out.view_names == ("l", "f", "r") and out.num_frames == 2 and out.view_index("f") == 1
    with pytest.raises(ShapeError, match="rendered texture"):
        Rendered(depth, np.zeros((2, 3, 4, 5), np.float32), None, depth > 0, ("l", "f", "r"))
    with pytest.raises(ShapeError, match="3 views but 2 view names"):
        Rendered(depth, None, None, depth > 0, ("l", "f"))
    with pytest.raises(UnknownNameError, match="did you mean 'l'"):
        out.view_index("ll")


def test_importing_render_stays_light():
    probe = "import sys, mer4d.render; print(sorted(m for m in ('open3d', 'torch', 'cv2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
