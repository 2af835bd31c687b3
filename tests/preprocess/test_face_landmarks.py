"""Onset landmarks (landmark file, Haar, MediaPipe) and the face clip orchestration with its fallback."""

import importlib.util

import cv2
import numpy as np
import pytest

import mer4d.preprocess.face_landmarks as face_landmarks
from mer4d.core.errors import DataError, MissingDependencyError
from mer4d.preprocess.face import prepare_face_clip, resolve_source
from mer4d.preprocess.face_align import template, warp_clip
from mer4d.preprocess.face_landmarks import FaceNotFoundError, haar_landmarks, mediapipe_landmarks, read_landmark_file


@pytest.fixture(scope="module")
def astronaut():
    data = pytest.importorskip("skimage.data")
    return data.astronaut()  # (512, 512, 3) RGB, shipped inside scikit-image (no download)


def test_haar_finds_the_astronaut_face_and_both_eyes(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    found = haar_landmarks(gray)
    x, y, w, h = found.box
    assert found.source == "haar" and 150 < x < 220 and 40 < y < 100 and 70 < w < 130
    left, right = np.array(found.points["eye_centre_left"]), np.array(found.points["eye_centre_right"])
    assert left[0] > right[0]  # the subject's left eye is on the image right
    assert abs(left[1] - right[1]) < 0.1 * w and y < left[1] < y + h / 2 and x < right[0] < left[0] < x + w
    # float input in [0, 1] is converted, same result
    assert haar_landmarks(gray / 255.0).box == found.box


def test_haar_uses_the_face_box_when_the_eye_cascade_finds_no_pair(astronaut, monkeypatch):
    real = face_landmarks._cascade

    class NoEyes:
        def detectMultiScale(self, *args, **kwargs):
            return ()

    monkeypatch.setattr(face_landmarks, "_cascade", lambda name: NoEyes() if "eye" in name else real(name))
    found = haar_landmarks(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    x, y, w, h = found.box
    assert found.source == "haar_box"
    assert found.points["eye_centre_left"] == pytest.approx((x + 0.73 * w - 0.5, y + 0.40 * h - 0.5))
    assert found.points["eye_centre_right"][0] < found.points["eye_centre_left"][0]


def test_no_face_raises_or_falls_back_and_says_so():
    blank = np.full((5, 120, 160), 90, np.uint8)
    with pytest.raises(FaceNotFoundError, match="no face"):
        haar_landmarks(blank[0])
    clip = prepare_face_clip(blank, 0, source="haar", crop=64, on_missing="fallback", clip_id="S09/blank")
    assert clip.source == "fallback" and clip.similarity is None and clip.frames.shape == (5, 64, 64)
    assert clip.frames.dtype == np.uint8 and "S09/blank" in clip.detail
    with pytest.raises(FaceNotFoundError) as err:
        prepare_face_clip(blank, 2, onset_frame=1002, source="haar", crop=64, on_missing="error", clip_id="S09/blank")
    message = str(err.value)
    assert "S09/blank" in message and "frame 1002" in message and "on_missing: fallback" in message and "landmarks.csv" in message


def test_colour_clips_are_searched_in_gray_and_every_channel_gets_the_same_warp(astronaut):
    clip = np.repeat(astronaut.transpose(2, 0, 1)[None], 3, axis=0)  # (T, 3, H, W)
    out = prepare_face_clip(clip, 1, source="haar", crop=100, on_missing="error")
    assert out.source == "haar" and out.frames.shape == (3, 3, 100, 100) and out.frames.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(out.frames[:, c], warp_clip(np.ascontiguousarray(clip[:, c]), out.similarity, 100))
    gray = haar_landmarks(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    moved = out.similarity.apply(np.array([gray.points["eye_centre_left"], gray.points["eye_centre_right"]]))
    canon = template(100)
    np.testing.assert_allclose(moved, [canon["eye_centre_left"], canon["eye_centre_right"]], atol=1e-6)


def write_csv(path, text):
    path.write_text(text)
    return path


def test_landmark_file_is_read_for_the_asked_frame(tmp_path):
    path = write_csv(tmp_path / "landmarks.csv", "frame,name,x,y\n10,eye_inner_left,60.5,40\n10,nose_tip,50,70\n11,nose_tip,51,71\n")
    found = read_landmark_file(path, 11)
    assert found.source == "dataset" and dict(found.points) == {"nose_tip": (51.0, 71.0)}
    assert read_landmark_file(path, 10).points["eye_inner_left"] == (60.5, 40.0)
    with pytest.raises(FaceNotFoundError, match=r"no row for frame 12 .*frames present: \[10, 11\]"):
        read_landmark_file(path, 12)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("frame,name,x\n1,nose_tip,3\n", r"line 1 must be a header .*missing \['y'\]"),
        ("", r"line 1 must be a header .*an empty file"),
        ("frame,name,x,y\n1,nose_tip,3,4\none,nose_tip,3,4\n", r"line 3: column 'frame' must be an integer frame number, got 'one'"),
        ("frame,name,x,y\n1,nose_tip,abc,4\n", r"line 2: column 'x' must be a finite pixel coordinate, got 'abc'"),
        ("frame,name,x,y\n1,nose_tip,3,nan\n", r"line 2: column 'y' must be a finite"),
        ("frame,name,x,y\n1,,3,4\n", r"line 2: column 'name' is empty"),
        ("frame,name,x,y\n1,nose_tip,3,4\n1,nose_tip,5,6\n", r"line 3: landmark 'nose_tip' of frame 1 appears twice"),
    ],
)
def test_landmark_file_errors_name_the_file_and_line(tmp_path, text, pattern):
    path = write_csv(tmp_path / "landmarks.csv", text)
    with pytest.raises(DataError, match=pattern) as err:
        read_landmark_file(path, 1)
    assert str(path) in str(err.value) and not isinstance(err.value, FaceNotFoundError)


def test_dataset_landmarks_drive_the_alignment_and_their_absence_is_reported(tmp_path):
    canon = template(64)
    scale = 1.5  # the face in the 200 px frame is the template x 1.5, shifted by (20, 10)
    rows = [f"7,{name},{p[0] * scale + 20:.3f},{p[1] * scale + 10:.3f}" for name, p in canon.items()]
    path = write_csv(tmp_path / "landmarks.csv", "frame,name,x,y\n" + "\n".join(rows) + "\n")
    frames = np.random.default_rng(0).integers(0, 255, (3, 200, 200), dtype=np.uint8)
    clip = prepare_face_clip(frames, 0, landmark_file=path, onset_frame=7, crop=64)
    assert clip.source == "dataset" and clip.frames.shape == (3, 64, 64)
    assert clip.similarity.scale == pytest.approx(1 / scale) and clip.similarity.angle_deg == pytest.approx(0.0, abs=1e-9)
    assert resolve_source("auto", path) == "dataset"
    with pytest.raises(DataError, match="no landmark file"):
        prepare_face_clip(frames, 0, landmark_file=tmp_path / "missing.csv", source="dataset", crop=64)
    only_brows = write_csv(tmp_path / "brows.csv", "frame,name,x,y\n0,brow_inner_left,5,5\n0,brow_inner_right,9,5\n")
    assert prepare_face_clip(frames, 0, landmark_file=only_brows, crop=64).source == "fallback"  # too few stable points


def test_auto_without_a_landmark_file_prefers_mediapipe_when_installed(monkeypatch, tmp_path):
    installed = {"mediapipe": True}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if installed.get(name) else None)
    assert resolve_source("auto", None) == "mediapipe" and resolve_source("haar", None) == "haar"
    installed["mediapipe"] = False
    assert resolve_source("auto", None) == "haar"
    (tmp_path / "landmarks.csv").write_text("frame,name,x,y\n")
    assert resolve_source("auto", tmp_path / "landmarks.csv") == "dataset"  # a landmark file wins over both


@pytest.mark.skipif(importlib.util.find_spec("mediapipe") is not None, reason="mediapipe is installed")
def test_mediapipe_missing_says_how_to_install():
    with pytest.raises(MissingDependencyError, match=r"mer4d\[face\]"):
        mediapipe_landmarks(np.zeros((64, 64), np.uint8))


def test_mediapipe_face_mesh_on_the_astronaut(astronaut):
    pytest.importorskip("mediapipe")
    found = mediapipe_landmarks(astronaut)
    assert found.source == "mediapipe"
    p = {k: np.array(v) for k, v in found.points.items()}
    assert p["eye_outer_left"][0] > p["eye_inner_left"][0] > p["nose_tip"][0] > p["eye_inner_right"][0] > p["eye_outer_right"][0]
    assert p["nose_tip"][1] > p["eye_inner_left"][1]
    haar = haar_landmarks(cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY))
    assert np.linalg.norm((p["eye_inner_left"] + p["eye_outer_left"]) / 2 - haar.points["eye_centre_left"]) < 10
