"""Class and group averages of CAMs against naive loops; Pearson's r against scipy; the Table 9 layout."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from mer4d.analysis.cam import label_sets
from mer4d.analysis.cam_maps import AU, EMOTION, CamAccumulator, correlation_table, grid_figure, pearson


def random_batches(rng, n=11, v=1, k=3, g=4, h=5, w=6):
    maps = rng.random((n, v, k, h, w))
    positives = rng.random((n, k)) < 0.5
    positives[0] = False  # a clip labelled with none of the model's classes
    positives[1: k + 1] |= np.eye(k, dtype=bool)  # every class has a clip
    members = rng.random((n, g)) < 0.5
    members[0] = True
    return maps, positives, members, rng.random((n, v, h, w))


def test_averages_equal_naive_loops_whatever_the_batching():
    rng = np.random.default_rng(0)
    maps, positives, members, inputs = random_batches(rng)
    acc = CamAccumulator(EMOTION, ("a", "b", "c"), ("AU1", "AU2", "AU4", "AU9"), ("",))
    for start in (0, 4, 9):  # uneven batches
        stop = {0: 4, 4: 9, 9: 11}[start]
        acc.add(maps[start:stop], positives[start:stop], members[start:stop], inputs[start:stop], np.arange(start, stop))
    result = acc.result()
    assert result.kinds == (AU,) * 4 + (EMOTION,) * 3  # AU rows first
    for row, name in enumerate(result.names):
        if result.kinds[row] == EMOTION:
            k = "abc".index(name)
            clips = [i for i in range(11) if positives[i, k]]
            expected = np.mean([maps[i, :, k] for i in clips], axis=0)
        else:
            g = ("AU1", "AU2", "AU4", "AU9").index(name)
            clips = [i for i in range(11) if members[i, g] and positives[i].any()]
            expected = np.mean([np.mean([maps[i, :, k] for k in range(3) if positives[i, k]], axis=0) for i in clips], axis=0)
        assert result.clips[row] == len(clips) and result.members[row] == tuple(clips)
        np.testing.assert_allclose(result.maps[row], expected, rtol=1e-12)
    background = inputs.mean(axis=0)
    np.testing.assert_allclose(result.background, (background - background.min()) / (background.max() - background.min()))


def test_pearson_matches_scipy_and_flags_constant_maps():
    rng = np.random.default_rng(1)
    u, v = rng.random((2, 7, 9)), rng.random((2, 7, 9))
    assert pearson(u, v) == pytest.approx(pearsonr(u.ravel(), v.ravel()).statistic, abs=1e-12)
    assert np.isnan(pearson(u, np.ones_like(u)))


def test_correlation_table_has_the_table_9_layout():
    rng = np.random.default_rng(2)
    maps, positives, members, inputs = random_batches(rng, v=2)
    acc = CamAccumulator(AU, ("AU1", "AU4", "AU12"), ("Negative", "Positive", "Surprise", "Others"), ("left", "right"))
    acc.add(maps, positives, members, inputs, np.arange(11))
    result = acc.result()
    table = correlation_table(result)
    assert list(table.columns) == ["AU1", "AU4", "AU12"] and list(table.index) == ["AU1", "AU4", "AU12", "Negative", "Positive", "Surprise", "Others"]
    assert np.allclose(np.diag(table.iloc[:3].to_numpy()), 1.0)
    row = result.names.index("Surprise")
    assert table.loc["Surprise", "AU4"] == pytest.approx(pearsonr(result.maps[row].ravel(), result.maps[result.names.index("AU4")].ravel()).statistic)
    grid_figure(result, "test")  # draws with two views per panel


def test_label_sets_for_emotion_and_au_runs():
    index = pd.DataFrame({
        "clip_id": ["a", "b", "c", "d"],
        "emotions": [["Negative"], ["Positive", "Surprise"], ["Negative"], ["Others"]],
        "aus": [["AU4", "L7"], ["L12", "R12", "AU1"], ["AU4(k)", "AU7"], ["AU1"]],
    })
    kind, positives, groups, members = label_sets(index, "emotion_multilabel", ("Negative", "Positive", "Surprise", "Others"), 1)
    assert kind == EMOTION and groups == ("AU1", "AU4", "AU7", "AU12")  # the static AU4(k) of clip c does not count
    assert members.tolist() == [[False, True, True, False], [True, False, False, True], [False, False, True, False], [True, False, False, False]]
    assert positives.tolist() == [[True, False, False, False], [False, True, True, False], [True, False, False, False], [False, False, False, True]]
    kind, positives, groups, members = label_sets(index, "au", ("AU1", "AU4", "AU7", "AU12"), 1, ("Positive", "Negative", "Surprise"))
    assert kind == AU and groups == ("Positive", "Negative", "Surprise", "Others") and members[1].tolist() == [True, False, True, False]
