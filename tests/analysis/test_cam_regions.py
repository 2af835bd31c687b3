"""The planted AU regions in the model's input: the coordinate chain and where anatomy puts each AU."""

from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from mer4d.analysis.cam_regions import au_region, image_transform, regions_unavailable
from mer4d.data.readers.landmarks import LANDMARK_FILE
from mer4d.pipeline import load_corpus
from mer4d.pipeline.frames import clip_range
from mer4d.preprocess.face_align import STABLE_LANDMARKS, template
from mer4d.preprocess.face_landmarks import read_landmark_file
from mer4d.recipes import load_recipe
from mer4d.synth.writers.fourdme import write_fourdme

SETTINGS = ["preprocess.size=72", "train.crop=64"]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = write_fourdme(tmp_path_factory.mktemp("sim") / "4dme", subjects=2, micro_per_subject=2, seed=0, progress=False)
    recipe = load_recipe(REPO / "recipes" / "4dme_res3d.yaml", [f"dataset.root={root}", *SETTINGS], profile="quick").recipe
    return recipe, load_corpus(recipe, progress=False)


def test_onset_landmarks_land_on_the_face_template_of_the_input(simulated):
    recipe, corpus = simulated
    row = corpus.index.iloc[0]
    points = read_landmark_file(Path(row["gray_dir"]) / LANDMARK_FILE, clip_range(row, 1)[0]).points
    used = [n for n in STABLE_LANDMARKS if n in points]  # the simulator writes corners, not centres
    assert len(used) >= 4
    mapped = image_transform(recipe, row)(np.array([points[n] for n in used], dtype=np.float64))
    # the face crop's template, resized 150 -> 72 px (pixel centres) and centre-cropped to 64 px
    canon = template(recipe.preprocess.face.crop)
    expected = np.array([(canon[n] + 0.5) * 72 / 150 - 0.5 - 4 for n in used])
    assert np.abs(mapped - expected).max() < 1.5  # the least-squares similarity's residual on this face, in input pixels


def test_au_regions_sit_where_the_muscles_are(simulated):
    recipe, corpus = simulated
    row = corpus.index.iloc[0].copy()

    def centre(codes):
        row["aus"] = codes
        mask = au_region(recipe, row, codes[0] if codes[0].startswith("AU") else f"AU{codes[0][1:]}", (64, 64))
        assert 0.005 < mask.mean() < 0.2
        rows, cols = np.nonzero(mask)
        return rows.mean(), cols.mean()

    brow, chin = centre(["AU4"]), centre(["AU17"])
    assert brow[0] < 26 < chin[0]  # brows in the upper part of the face, chin at the bottom (image rows go down)
    left, right = centre(["L12"]), centre(["R12"])
    assert left[1] > 36 and right[1] < 28  # the subject's left mouth corner is on the image right
    assert abs(left[0] - right[0]) < 3
    row["aus"] = ["AU4(k)"]  # a static AU does not move in the clip
    assert not au_region(recipe, row, "AU4", (64, 64)).any()


def test_regions_are_drawn_for_simulator_gray_runs_only(simulated):
    recipe, _ = simulated
    assert "built-in 4DME simulator only" in regions_unavailable(recipe, multi_view=False)  # this recipe names a root
    plain = load_recipe(REPO / "recipes" / "4dme_res3d.yaml", SETTINGS, profile="quick").recipe
    assert regions_unavailable(plain, multi_view=False) is None
    assert "gray frames only" in regions_unavailable(plain, multi_view=True)
