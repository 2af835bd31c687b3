"""The DFME tables: each run lands in the table of the one factor it changes."""

import pandas as pd

from mer4d.tracking.report_dfme import dfme_tables


def run(model, variant="", resample="none", loss="ce", strategy="adaptive", uf1=0.5, dataset="dfme", run_id=None):
    return {"experiment": "dfme", "recipe": f"dfme_{model}", "profile": "quick", "variant": variant, "run": run_id or f"{model}-{variant or 'base'}",
            "ACC": uf1 + 0.1, "UF1": uf1, "UAR": uf1 - 0.1, "fold_mean_acc": 0.6, "fold_mean_uf1": 0.4, "fold_mean_uar": 0.3,
            "model.name": model, "dataset.name": dataset, "protocol.kind": "subject_kfold", "train.resample": resample, "train.loss.name": loss,
            "train.loss.beta": "0.9999", "train.loss.gamma": "2.0", "train.loss.variant": "softmax", "train.loss": "", "sampling.strategy": strategy, "sampling.frames": "16"}


def test_each_run_lands_in_the_table_of_the_factor_it_changes():
    runs = pd.DataFrame([
        run("r3d", uf1=0.5), run("r3d", "train.resample=uniform", resample="uniform", uf1=0.6),
        run("r3d", "train.loss.name=class_balanced", loss="class_balanced", uf1=0.55),
        run("r3d", "sampling.strategy=uniform", strategy="uniform", uf1=0.45),
        run("r3d", "train.resample=uniform train.loss.name=class_balanced", resample="uniform", loss="class_balanced"),  # two factors: no table
        run("i3d", uf1=0.7), run("p3d", "train.resample=uniform", resample="uniform"),  # p3d has no base run: left out
        run("r3d", dataset="casme2", run_id="other-dataset"),
        run("r3d", "model.params.width=16", run_id="wider"),  # changes no factor: in no table
    ])
    tables = dfme_tables(runs)
    assert tables["VII"][["model", "UF1"]].values.tolist() == [["i3d", 0.7], ["r3d", 0.5]]
    assert tables["VIII"][["model", "setting"]].values.tolist() == [["i3d", "none"], ["r3d", "none"], ["r3d", "uniform"]]
    loss = tables["IX"][tables["IX"]["model"] == "r3d"]
    assert loss["setting"].tolist() == ["ce", "class_balanced beta=0.9999 variant=softmax"]
    assert tables["XI"][tables["XI"]["model"] == "r3d"]["setting"].tolist() == ["adaptive frames=16", "uniform frames=16"]
    assert not {"other-dataset", "wider"} & set(pd.concat(tables.values())["run"])
    assert tables["VII"]["UF1 (fold mean)"].tolist() == [0.4, 0.4]


def test_a_focal_loss_shows_its_gamma_and_an_older_run_its_plain_loss_setting():
    focal = run("r3d", "train.loss.name=class_balanced_focal", loss="class_balanced_focal")
    old = {**run("i3d"), "train.loss.name": "", "train.loss": "ce"}  # logged before train.loss was a mapping
    tables = dfme_tables(pd.DataFrame([run("r3d"), focal, old]))
    assert tables["IX"]["setting"].tolist() == ["ce", "ce", "class_balanced_focal beta=0.9999 gamma=2.0 variant=softmax"]


def test_no_dfme_runs_gives_empty_tables():
    tables = dfme_tables(pd.DataFrame([run("r3d", dataset="casme2")]))
    assert set(tables) == {"VII", "VIII", "IX", "XI"} and all(t.empty for t in tables.values())
    assert all(t.empty for t in dfme_tables(pd.DataFrame()).values())
