"""The shipped ICP template face: equal to what the simulator makes now, packaged, and aligning as before."""

from __future__ import annotations

import fnmatch
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import tomllib

from mer4d.core.containers import MeshSeq
from mer4d.geometry import RigidTransform, align_icp
from mer4d.geometry.template import CANONICAL_FACE_FILE, CANONICAL_LANDMARKS, LANDMARK_NAMES, canonical_face_mesh

REPO = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("make_canonical_face", REPO / "tools" / "make_canonical_face.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def simulated():
    return _tool().simulated_template()


def test_the_shipped_template_is_what_the_simulator_makes_now(simulated):
    # Drift catcher: a change to the simulator's average face must come with a regenerated file.
    mesh = canonical_face_mesh()
    assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.int64
    np.testing.assert_array_equal(mesh.vertices, simulated["vertices"],
                                  err_msg="the simulator's average face changed: run python tools/make_canonical_face.py")
    np.testing.assert_array_equal(mesh.faces, simulated["faces"])
    with np.load(REPO / "mer4d" / "geometry" / CANONICAL_FACE_FILE) as raw:  # the file as stored, not as loaded
        assert sorted(raw.files) == ["faces", "vertices"] and raw["faces"].dtype == np.int32 and raw["vertices"].dtype == np.float32
    assert canonical_face_mesh() is mesh and not mesh.vertices.flags.writeable


def test_the_template_sits_in_the_canonical_frame():
    # The nose tip of the canonical landmark table is on the surface, and the face is left/right symmetric.
    vertices = canonical_face_mesh().vertices.astype(np.float64)
    nose = np.asarray(CANONICAL_LANDMARKS["nose_tip"])
    assert np.linalg.norm(vertices - nose, axis=1).min() < 1.0
    assert abs(vertices[:, 0].mean()) < 0.5 and abs(vertices[:, 0].max() + vertices[:, 0].min()) < 1.0
    assert set(CANONICAL_LANDMARKS) == set(LANDMARK_NAMES)


def test_icp_against_the_file_gives_the_simulators_alignment():
    pytest.importorskip("open3d")
    from mer4d.synth.face import make_face
    from mer4d.synth.identity import Identity

    simulated = make_face(Identity(), "quick").mesh
    truth = RigidTransform.from_euler_deg((2.0, -3.0, 1.0), (3.0, -2.0, 1.5))  # a scan of the average face in another pose
    noise = np.random.default_rng(0).normal(scale=0.05, size=simulated.vertices.shape)
    seq = MeshSeq((truth.apply(simulated.vertices.astype(np.float64)) + noise)[None].astype(np.float32), simulated.faces, 60.0)
    _, from_file = align_icp(seq, canonical_face_mesh())
    _, from_simulator = align_icp(seq, simulated)
    # Open3D's ICP sums in parallel, so even equal inputs differ in the last bits (~1e-14) from run to run.
    np.testing.assert_allclose(from_file.matrix, from_simulator.matrix, rtol=0, atol=1e-9)
    residual = from_file @ truth  # and it undoes the pose
    assert residual.angle_deg < 0.2 and np.linalg.norm(residual.translation) < 0.3


def test_pyproject_packages_the_template():
    # A wheel without the .npz would make every ICP alignment fail on a user's machine.
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["mer4d"]
    relative = f"geometry/{CANONICAL_FACE_FILE}"
    assert any(fnmatch.fnmatch(relative, p) for p in patterns), (relative, patterns)
