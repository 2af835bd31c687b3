"""`mer4d report --tables`: the 4DME paper's Table 5 (AUs) and Table 6 (emotions) from stored runs."""

from click.testing import CliRunner

from mer4d.cli import cli
from mer4d.tracking.report import latest_runs, paper_table
from mer4d.tracking.store import open_client


def _parent(client, exp, recipe, task, metrics, variant=""):
    run = client.create_run(exp, tags={"mer4d.recipe": recipe, "mer4d.profile": "quick", "mer4d.variant": variant, "mer4d.dataset": "sim: 5 clips"})
    client.log_param(run.info.run_id, "dataset.task", task)
    for k, v in metrics.items():
        client.log_metric(run.info.run_id, k, v)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def _fill(uri):
    client = open_client(uri)
    exp = client.create_experiment("4dme")
    _parent(client, exp, "4dme_sca_au", "au", {"f1_AU12": 0.5, "acc_AU12": 0.9, "f1_AU2": 0.1, "acc_AU2": 0.7, "macro_f1": 0.3, "macro_acc": 0.8})
    _parent(client, exp, "4dme_lbptop", "emotion_multilabel", {"f1_Positive": 0.2, "acc_Positive": 0.6, "macro_f1": 0.2, "macro_acc": 0.6})
    _parent(client, exp, "4dme_sca", "emotion_multilabel", {"f1_Positive": 0.4, "acc_Positive": 0.7, "macro_f1": 0.4, "macro_acc": 0.7})
    _parent(client, exp, "4dme_sca", "emotion_multilabel", {"f1_Positive": 0.1, "acc_Positive": 0.5, "macro_f1": 0.1, "macro_acc": 0.5}, variant="seed=1")


def test_tables_split_runs_by_task_order_methods_by_average_f1_and_aus_by_number(store):
    _fill(store)
    runs = latest_runs(store, per_class=True)
    au = paper_table(runs, "au")
    assert list(au.columns) == ["method", "AU2", "AU12", "average", "run"]  # AU2 before AU12
    assert au.loc[0, "AU12"] == "0.500 / 0.900" and au.loc[0, "average"] == "0.300 / 0.800"
    emo = paper_table(runs, "emotion_multilabel")
    assert list(emo["method"]) == ["4dme_sca (quick)", "4dme_lbptop (quick)", "4dme_sca [seed=1] (quick)"]
    assert emo["Positive"].tolist() == ["0.400 / 0.700", "0.200 / 0.600", "0.100 / 0.500"]


def test_report_tables_prints_both_tables_or_says_what_to_run(store):
    result = CliRunner().invoke(cli, ["report", "--tables"])
    assert result.exit_code == 0, result.output
    assert "Table 5" in result.output and "Table 6" in result.output and "No finished dataset.task=au run" in result.output
    _fill(store)
    result = CliRunner().invoke(cli, ["report", "--tables"])
    assert result.exit_code == 0, result.output
    table5 = result.output.split("Table 6")[0]
    assert "| 4dme_sca_au (quick) | 0.100 / 0.700 | 0.500 / 0.900 | 0.300 / 0.800 |" in table5
    assert "4dme_lbptop" in result.output.split("Table 6")[1] and "4dme_lbptop" not in table5
