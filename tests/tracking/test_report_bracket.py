"""The report puts each method between its shuffled-label control and its ceiling."""

import pandas as pd

from mer4d.tracking.report import evidence_table


def row(variant, macro_f1, sd=None, n=None, views=None, motion=None):
    return {"experiment": "4dme", "recipe": "4dme_ccdn", "profile": "quick", "variant": variant, "data": "sim", "run": "r" + variant,
            "ACC": None, "UF1": None, "UAR": None, "UF1 (fold mean)": None, "macro F1": macro_f1, "macro acc": 0.8,
            "n_seeds": n, "macro_f1_sd": sd, "ceiling_views_macro_f1": views, "ceiling_motion_macro_f1": motion}


def test_control_and_ceiling_columns():
    runs = pd.DataFrame([
        row("", 0.52, 0.02, 3, views=0.81, motion=0.86),
        row("control=shuffled", 0.21, 0.03, 3, views=0.81, motion=0.86),
        row("model.params.views=[1]", 0.47, 0.04, 3, views=None, motion=0.86),
        row("control=shuffled model.params.views=[1]", 0.19),
        row("model.params.views=[0]", 0.40),  # no control run: an empty cell, not a made-up one
    ])
    out = evidence_table(runs).set_index("variant")
    assert out.loc["", "shuffled control"] == "0.210 ± 0.030 (3 seeds)"
    assert out.loc["model.params.views=[1]", "shuffled control"] == "0.190 (1 seed)"
    assert pd.isna(out.loc["model.params.views=[0]", "shuffled control"])
    assert pd.isna(out.loc["control=shuffled", "shuffled control"])  # a control has no control of its own
    assert out.loc["", "ceiling"] == 0.81  # the views ceiling, the tightest
    assert out.loc["model.params.views=[1]", "ceiling"] == 0.86  # only the motion ceiling logged
    assert out.loc["", "macro F1"] == "0.520 ± 0.020 (3 seeds)"
    assert "ceiling_views_macro_f1" not in out


def test_the_shared_view_shows_the_spread_and_is_kept_up_to_date():
    import json

    from mer4d.tracking.store import EXPERIMENT_KIND_TAG, VIEW_TAG, experiment_tags, view_state

    columns = json.loads(view_state())["selectedColumns"]
    assert {"metrics.`macro_f1_sd`", "metrics.`macro_f1_ci_low`", "metrics.`n_seeds`"} <= set(columns)
    stale = experiment_tags({EXPERIMENT_KIND_TAG: "genai_development", VIEW_TAG: '{"selectedColumns": []}'})
    assert stale == {VIEW_TAG: view_state()}  # our view refreshed, the user's experiment kind left alone
    assert experiment_tags({EXPERIMENT_KIND_TAG: "x", VIEW_TAG: view_state()}) == {}
