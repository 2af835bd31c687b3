"""``mer4d analyze labels``: AU views, share tables and combinations against naive loops, the 4DME-rule
comparison on hand cases (and against the rule engine), and the command on the simulators, read back from MLflow."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from mer4d.analysis.label_stats import ALL, au_share_table, clip_codes, top_combinations, view_code
from mer4d.analysis.rule_consistency import DIFFERENT, NOT_COMPARED, PARTIAL, SAME, rule_consistency
from mer4d.cli import cli
from mer4d.core.errors import DataError
from mer4d.labels.au_emotion import emotions_from_aus
from mer4d.labels.aus import AUToken


@pytest.mark.parametrize(("code", "merged", "sided", "lr"), [
    ("AU12", "AU12", "AU12", "AU12"), ("L12", "AU12", "L12", "L/R-AU12"), ("R2", "AU2", "R2", "L/R-AU2"),
    ("A14", "AU14", "A14", "AU14"), ("T18", "AU18", "T18", "AU18"), ("AD38", "AD38", "AD38", "AD38"), ("M57", "M57", "M57", "M57"),
])
def test_au_views(code, merged, sided, lr):
    assert (view_code(code, "merged"), view_code(code, "sided"), view_code(code, "lr")) == (merged, sided, lr)


def test_bad_codes_and_views():
    with pytest.raises(DataError, match="not a canonical Index code"):
        view_code("12", "merged")
    with pytest.raises(DataError, match="unknown AU view"):
        view_code("AU12", "both")
    with pytest.raises(DataError, match="no 'aus' column"):
        au_share_table(pd.DataFrame({"emotion": ["x"]}))


def hand_index() -> pd.DataFrame:
    rows = [  # emotion, moving AUs, static AUs
        ("happiness", ["AU6", "AU12"], []), ("happiness", ["L12"], []), ("happiness", ["L12", "R12"], []),
        ("happiness", ["AU12", "AU4"], []), ("surprise", ["AU1", "AU2"], ["AU12"]), ("surprise", ["AU5"], []),
        ("others", ["AU4"], []), ("others", [], []), ("fear", ["AU1", "AU2", "AU4"], []), ("non_micro", ["AU7"], []),
        ("repression", ["AU14", "AD38"], []),
    ]
    return pd.DataFrame([{"clip_id": f"c{i}", "subject": f"s{i % 3}", "emotion": e, "aus": a, "aus_static": s} for i, (e, a, s) in enumerate(rows)])


@pytest.mark.parametrize("view", ["merged", "sided", "lr"])
def test_share_table_equals_a_naive_count(view):
    index = hand_index()
    table = au_share_table(index, view)
    for emotion in [*index["emotion"].unique(), ALL]:
        clips = index if emotion == ALL else index[index["emotion"] == emotion]
        assert table.loc[emotion, "n_clips"] == len(clips)
        for code in table.columns.drop("n_clips"):
            having = sum(code in {view_code(c, view) for c in [*r.aus, *r.aus_static]} for r in clips.itertuples())
            assert table.loc[emotion, code] == pytest.approx(having / len(clips))
    if view == "merged":  # L12 + R12 in one clip count once; the static AU12 counts
        assert table.loc["happiness", "AU12"] == 1.0 and table.loc["surprise", "AU12"] == 0.5
    if view == "sided":
        assert table.loc["happiness", "L12"] == 0.5 and table.loc["happiness", "R12"] == 0.25 and table.loc["happiness", "AU12"] == 0.5
    if view == "lr":
        assert table.loc["happiness", "L/R-AU12"] == 0.5
    assert list(table.index[:1]) == ["happiness"] and table.index[-1] == ALL  # most clips first


def test_top_combinations_equal_a_naive_counter():
    index = hand_index()
    combos = top_combinations(index, "merged", top=2)
    for emotion, part in combos.groupby("emotion"):
        sets = ["+".join(sorted(s, key=lambda c: int(c.lstrip("ADMU") or 0))) or "(no AU)"
                for s, e in zip(clip_codes(index, "merged"), index["emotion"], strict=True) if e == emotion]
        expected = sorted(Counter(sets).items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        assert list(zip(part["combination"], part["clips"], strict=True)) == expected
    assert combos[combos["emotion"] == "happiness"].iloc[0].tolist()[:4] == ["happiness", 1, "AU12", 2]  # L12 and L12+R12 merge to AU12
    assert "(no AU)" in set(combos["combination"])


def test_rule_consistency_verdicts_and_reasons():
    result = rule_consistency(hand_index(), multilabel=False)
    clips = result.clips.set_index("clip_id")
    for row in hand_index().itertuples():  # the rules' label is the rule engine's
        tokens = [AUToken(c) for c in row.aus] + [AUToken(c, static=True) for c in row.aus_static]
        assert clips.loc[row.clip_id, "rules"] == "+".join(emotions_from_aus(tokens))
    expected = {
        "c0": (SAME, "Positive", "AU12 -> Positive"),
        "c3": (DIFFERENT, "Others", "AU12 -> Positive; AU4 -> Negative: conflicting -> Others (rule 6)"),
        "c4": (PARTIAL, "Surprise+Positive", "AU1+2 -> Surprise; AU12 -> Positive (Negative's AU1 is part of Surprise's AU1+2: "
                                             "the combination takes precedence)"),  # the static AU12 counts (rule 7)
        "c5": (DIFFERENT, "Others", "no decisive AU (dependent AU5) -> Others (rule 5)"),
        "c6": (DIFFERENT, "Negative", "AU4 -> Negative"),
        "c7": (SAME, "Others", "no AU coded -> Others (rule 5)"),
        "c8": (PARTIAL, "Surprise+Negative", "AU1+2 -> Surprise; AU4 -> Negative"),
        "c9": (NOT_COMPARED, "Negative", "AU7 -> Negative"),
        "c10": (SAME, "Repression", "AU14 -> Repression"),
    }
    for clip, (verdict, rules, reason) in expected.items():
        assert (clips.loc[clip, "verdict"], clips.loc[clip, "rules"], clips.loc[clip, "reason"]) == (verdict, rules, reason), clip
    counts = result.counts().set_index("verdict")["clips"].to_dict()
    assert counts == {SAME: 5, PARTIAL: 2, DIFFERENT: 3, NOT_COMPARED: 1}
    assert result.mapping["non_micro"] == "(not compared)" and result.mapping["fear"] == "Negative"
    assert result.crosstab().loc["Others", "Negative"] == 1
    assert result.reasons()["clips"].sum() == 5


def test_rules_label_equals_the_rule_engine_on_every_4dme_combination():
    from mer4d.synth.catalog import MICRO_COMBINATIONS, STATIC_CHOICES

    rows = []
    for k, (combo, _) in enumerate(MICRO_COMBINATIONS):
        for static in (None, *STATIC_CHOICES):
            tokens = [AUToken(c) for c in combo] + ([AUToken(static, static=True)] if static else [])
            label = "+".join(emotions_from_aus(tokens))
            rows.append({"clip_id": f"{k}-{static}", "subject": "s", "emotion": label, "aus": list(combo), "aus_static": [static] if static else []})
    result = rule_consistency(pd.DataFrame(rows), multilabel=True)
    assert (result.clips["verdict"] == SAME).all()
    flipped = pd.DataFrame(rows).assign(emotion="Repression")
    assert (rule_consistency(flipped, multilabel=True).clips["verdict"] != SAME).sum() > len(rows) // 2


# ------------------------------------------------------------------ the command, logged to MLflow


def read_back(client, run_id: str, name: str, tmp_path: Path) -> Path:
    return Path(client.download_artifacts(run_id, name, str(tmp_path)))


def only_run(client):
    experiment = client.get_experiment_by_name("analysis")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    (run,) = client.search_runs([experiment.experiment_id])
    return run


def test_casme2_simulator_labels_are_analysed_and_logged(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    out = CliRunner().invoke(cli, ["analyze", "labels", "--dataset", "casme2", "--no-progress"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "AU occurrence per emotion, sides merged" in out.output and "disgust -> Negative" in out.output
    client = MlflowClient(store)
    run = only_run(client)
    assert run.info.status == "FINISHED" and run.data.tags["mer4d.analysis"] == "labels" and "mer4d.recipe" not in run.data.tags
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"au_share_merged.csv", "au_share_sided.csv", "au_share_lr.csv", "au_combinations.csv", "rule_consistency.csv",
            "rule_crosstab.csv", "au_share_merged.png", "au_share_sided.png", "rule_crosstab.png", "report.md", "provenance.json"} <= names
    for png in ("au_share_merged.png", "rule_crosstab.png"):
        image = matplotlib.image.imread(read_back(client, run.info.run_id, png, tmp_path))
        assert image.ndim == 3 and image.shape[0] > 100
    # the logged tables are those of the simulator's Index, recounted here from the scan
    import mer4d.data.datasets  # noqa: F401
    from mer4d.data.spec import DATASETS

    roots = list((tmp_path / "cache" / "sim").iterdir())
    index, _ = DATASETS.get("casme2").run_scan(roots[0])
    shares = pd.read_csv(read_back(client, run.info.run_id, "au_share_merged.csv", tmp_path), index_col=0)
    happy = index[index["emotion"] == "happiness"]
    assert shares.loc["happiness", "AU12"] == pytest.approx(sum(any(c.endswith("12") for c in a) for a in happy["aus"]) / len(happy))
    clips = pd.read_csv(read_back(client, run.info.run_id, "rule_consistency.csv", tmp_path), keep_default_na=False)
    assert len(clips) == len(index) == run.data.metrics["n_clips"]
    assert run.data.metrics["rules_same"] == pytest.approx((clips["verdict"] == SAME).mean())


def test_4dme_labels_follow_the_rules_exactly(store, tmp_path):
    from mer4d.synth.writers.fourdme import write_fourdme

    root = write_fourdme(tmp_path / "4dme", subjects=2, micro_per_subject=3, seed=4, progress=False)
    out = CliRunner().invoke(cli, ["analyze", "labels", "--dataset", "4dme", "--root", str(root), "--kind", "all"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    run = only_run(MlflowClient(store))
    # the simulator labels every clip from its AUs by the paper's rules, so the comparison must find no disagreement
    assert run.data.metrics["rules_same"] == 1.0 and run.data.metrics["n_clips"] == 8
    assert run.data.params["kind"] == "macro,micro"


def test_a_dataset_without_labels_files_is_refused():
    out = CliRunner().invoke(cli, ["analyze", "labels", "--dataset", "toy"])
    assert out.exit_code != 0 and "generated in code" in str(out.exception)


def test_a_dataset_without_au_codes_gets_no_rule_comparison(store, tmp_path, monkeypatch):
    monkeypatch.setenv("MER4D_CACHE", str(tmp_path / "cache"))
    out = CliRunner().invoke(cli, ["analyze", "labels", "--dataset", "smic", "--no-progress"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "holds no AU codes" in out.output and "Consistency with the 4DME" not in out.output
    run = only_run(MlflowClient(store))
    assert run.data.metrics["rules_compared"] == 0 and "rules_same" not in run.data.metrics
