"""MoExt's Table 7 layout: each fine-tuning run is named by its own --set and its checkpoint's pre-training variant."""

import pandas as pd
import pytest

from mer4d.tracking.report_moext import ablation_name, ablation_table


@pytest.mark.parametrize(("variant", "pretrain_variant", "row"), [
    ("", "", "MoExt"),
    ("train.epochs=3", "pretrain.epochs=2", "MoExt"),  # resized runs keep their row
    ("model.params.init=null train.epochs=3", "", "w/o pre-training"),
    ("model.params.init=null", "", "w/o pre-training"),
    ("model.params.init=runs:/abc", "dataset.kind=micro", "w/o macro-expressions"),
    ("model.params.init=runs:/abc model.params.motion=difference", "model.params.motion=difference", "w/o motion extractor"),
    ("model.params.init=runs:/abc", "pretrain.alpha_st=0", "w/o L_st"),
    ("model.params.init=runs:/abc", "pretrain.alpha_oa=0", "w/o L_oa"),
    ("dataset.shuffle_labels=true", "", "shuffled-label control"),
    ("model.params.init=runs:/abc", "pretrain.alpha_st=0 pretrain.alpha_oa=0", None),  # two changes: no paper row
])
def test_rows_are_named_from_both_stages(variant, pretrain_variant, row):
    assert ablation_name(variant, pretrain_variant) == row


def run(variant="", pre="", uf1=0.5, model="moext", dataset="megc2019"):
    return {"experiment": "megc2019", "recipe": "megc2019_moext", "profile": "quick", "variant": variant, "run": f"r-{variant}-{pre}",
            "ACC": uf1, "UF1": uf1, "UAR": uf1, "model.name": model, "dataset.name": dataset, "mer4d.pretrain_variant": pre, "mer4d.pretrain_run": ""}


def test_table_orders_rows_as_the_paper_and_keeps_other_models_out():
    runs = pd.DataFrame([run("", "", 0.6), run("model.params.init=null", uf1=0.4), run("dataset.shuffle_labels=true", uf1=0.3),
                         run(model="res3d"), run(dataset="casme2")])
    table = ablation_table(runs)
    assert table["ablation"].tolist() == ["w/o pre-training", "MoExt", "shuffled-label control"]
    assert table.loc[table["ablation"] == "MoExt", "paper UF1"].item() == pytest.approx(0.8301)
    assert ablation_table(pd.DataFrame()).empty
