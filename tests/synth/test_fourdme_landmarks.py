"""The simulator's landmarks.csv: one row per frame and landmark, where the rendered gray image shows them."""

import csv

import cv2
import numpy as np
import pytest

from mer4d.data.datasets.fourdme import scan
from mer4d.data.readers import list_frames
from mer4d.data.readers.landmarks import LANDMARK_FILE
from mer4d.synth.face import LANDMARK_NAMES
from mer4d.synth.writers.fourdme import write_fourdme


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    root = write_fourdme(tmp_path_factory.mktemp("simlm"), subjects=2, micro_per_subject=1, seed=7, progress=False)
    index, _ = scan(root)
    return index


def read_rows(folder):
    with open(f"{folder}/{LANDMARK_FILE}", newline="") as handle:
        return list(csv.DictReader(handle))


def face_mask(image: np.ndarray) -> np.ndarray:
    """Pixels not reachable from the image border through dark background (so dark eyes count as face)."""
    background = (image <= 12).astype(np.uint8)
    reached = np.zeros((image.shape[0] + 2, image.shape[1] + 2), np.uint8)
    for y, x in ((0, 0), (0, image.shape[1] - 1), (image.shape[0] - 1, 0), (image.shape[0] - 1, image.shape[1] - 1)):
        if background[y, x]:
            cv2.floodFill(background, reached, (x, y), 2)
    return background != 2


def profile(image, a, b, dy=0.0):
    t = np.linspace(0.0, 1.0, 30)[:, None]
    pts = np.round(a + t * (b - a) + [0.0, dy]).astype(int)
    return image[pts[:, 1], pts[:, 0]].astype(float)


def test_every_gray_frame_has_every_landmark_and_frames_ignore_the_csv(clips):
    for row in clips.itertuples():
        listed = list_frames(row.gray_dir)  # the csv is not an image: not listed as a frame
        assert [n for n, _ in listed] == list(range(row.onset, row.offset + 1))
        rows = read_rows(row.gray_dir)
        assert len(rows) == len(listed) * len(LANDMARK_NAMES) and list(rows[0]) == ["frame", "name", "x", "y"]
        assert {int(r["frame"]) for r in rows} == {n for n, _ in listed}
        assert [r["name"] for r in rows[: len(LANDMARK_NAMES)]] == list(LANDMARK_NAMES)


def test_landmarks_land_where_the_image_shows_them(clips):
    for row in clips.itertuples():
        rows = read_rows(row.gray_dir)
        for number, path in list_frames(row.gray_dir)[::6]:
            image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            p = {r["name"]: np.array([float(r["x"]), float(r["y"])]) for r in rows if int(r["frame"]) == number}
            mask = face_mask(image)
            for name in ("nose_tip", "nose_bridge", "eye_inner_left", "eye_inner_right", "eye_outer_left", "eye_outer_right"):
                x, y = np.round(p[name]).astype(int)
                assert mask[y, x], f"{name} of frame {number} at {p[name]} is off the rendered face"
            # subject's left on the image right; eyes level; nose tip below the eyes, between them
            assert p["eye_outer_left"][0] > p["eye_inner_left"][0] > p["nose_tip"][0] > p["eye_inner_right"][0] > p["eye_outer_right"][0]
            assert abs(p["eye_inner_left"][1] - p["eye_inner_right"][1]) < 2.0 and abs(p["eye_outer_left"][1] - p["eye_outer_right"][1]) < 2.0
            assert p["nose_tip"][1] > p["eye_inner_left"][1] + 10
            for side in ("left", "right"):
                # between the corners lie the bright sclera and the dark iris; 12 px lower, only cheek skin
                eye = profile(image, p[f"eye_inner_{side}"], p[f"eye_outer_{side}"])
                cheek = profile(image, p[f"eye_inner_{side}"], p[f"eye_outer_{side}"], dy=12.0)
                assert eye.max() > 170 and eye.max() - eye.min() > 140 and cheek.max() - cheek.min() < 80
