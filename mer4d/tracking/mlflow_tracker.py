"""The MLflow implementation of the Tracker protocol: a parent run per experiment, one nested run per fold.

The parent run holds the flattened resolved recipe as params, tags naming the recipe, profile,
variant and dataset, the artifacts ``recipe.resolved.yaml`` and ``provenance.json``, and at the
end the pooled metrics and tables (:mod:`mer4d.tracking.artifacts`). A fold's nested run is
marked FINISHED only after its predictions and metrics are stored as artifacts, so a run killed
at any moment never leaves a fold looking finished without its data; ``completed_folds`` reads
those artifacts back when a run is resumed.
"""

from __future__ import annotations

import json
import tempfile
import traceback
from pathlib import Path

import pandas as pd

from mer4d.core.errors import TrackingError
from mer4d.data.protocols import SUBJECT_OVERLAPPING
from mer4d.recipes.load import LoadedRecipe, flatten, recipe_to_yaml
from mer4d.recipes.schema import Recipe
from mer4d.tracking.artifacts import log_repeats, log_results, metric_batch
from mer4d.tracking.provenance import provenance
from mer4d.tracking.run_records import fold_context, log_dataset, start_system_metrics, stop_system_metrics
from mer4d.tracking.store import experiment_id, open_client, tracking_uri
from mer4d.train.checkpoints import FOLD_CHECKPOINT, save_checkpoint
from mer4d.train.pretrain_stage import CHECKPOINT
from mer4d.train.pretrained import SEEN_SUBJECTS, SIZING_KEYS, Pretrained, local_pretrained, read_seen
from mer4d.train.runner import ProtocolResult
from mer4d.train.tracker import Ending, FoldOutcome, StoredRun

PARENT_TAG = "mlflow.parentRunId"
FOLD_TAG = "mer4d.fold_number"
FINGERPRINT_TAG = "mer4d.dataset_fingerprint"
STAGE_TAG = "mer4d.stage"  # pretrain for a pre-training run; absent or train otherwise
PRETRAIN_RUN_TAG = "mer4d.pretrain_run"  # a fine-tuning run: the pre-training run its checkpoint came from
REPEATS_TAG = "mer4d.repeats"  # a repeats run: how many seeds it holds (mer4d.seeds lists them)
SEEDS_TAG = "mer4d.seeds"
REPEAT_OF_TAG = "mer4d.repeat_of"  # a seed run: the repeats run it belongs to
SEED_TAG = "mer4d.seed"
CONTROL_TAG = "mer4d.control"  # shuffled: the training labels of each fold were permuted
def is_ablation(variant_text: str) -> bool:
    """Whether a run's ``--set`` overrides change its method (beyond :data:`SIZING_KEYS`)."""
    return any(not o.split("=", 1)[0].startswith(SIZING_KEYS) for o in variant_text.split())
RECIPE_ARTIFACT = "recipe.resolved.yaml"
TEXT_COLUMNS = ("clip_id", "subject", "fold", "truth", "prediction")  # ids like "01" must stay strings


def variant(overrides: tuple[str, ...]) -> str:
    """The ``--set`` overrides that change the method (not where data or runs live), for grouping runs."""
    placement = ("dataset.root=", "tracking.")
    return " ".join(sorted(o for o in overrides if not o.startswith(placement)))


class MlflowTracker:
    """One parent run in the store at ``uri``, in experiment ``experiment`` when it is new.

    ``client`` is an ``MlflowClient``; :meth:`for_recipe` builds one from a recipe's settings.
    The run is opened by :meth:`start_run` or :meth:`resume_run`.

    Repeats (several seeds, :mod:`mer4d.train.repeats`) use three levels::

        repeats run   (mer4d.repeats=N, mer4d.seeds="0,1,2"; the recipe/profile/variant tags; the summary)
        +- seed run   (mlflow.parentRunId = the repeats run, mer4d.repeat_of, mer4d.seed; a normal run)
           +- fold run (mlflow.parentRunId = the seed run, as in any run)

    Why: MLflow's runs table nests by ``mlflow.parentRunId`` one level well (mlflow issue 4563:
    deeper levels are not shown as a tree), so the table reads repeats run -> its seeds, the
    evidence one compares first; a seed's folds are one click further, on the seed run's page
    (its child runs), where they are today for a plain run. Each seed run is exactly a plain
    run's parent (its folds found by ``mlflow.parentRunId`` = its id), so fold bookkeeping and
    resume do not change; and report code that skips runs with a parent skips seed runs too, so
    a seed never shows up as a row of its own. A single seed keeps the two-level layout.
    """

    def __init__(self, client, uri: str, experiment: str, repeat_of: str | None = None, seed: int | None = None):
        self.client = client
        self.uri = uri
        self.experiment = experiment
        self.experiment_id: str | None = None
        self.parent_run_id: str | None = None
        self.fold_run_id: str | None = None
        self.repeat_of = repeat_of  # a seed run's tracker: the repeats run and the seed
        self.seed = seed
        self.dataset: dict[str, str | None] = {}  # name, root, fingerprint, description, context: the run's dataset input
        self.monitor = None  # the system-metrics sampler of the run, while it runs

    @classmethod
    def for_recipe(cls, recipe: Recipe) -> MlflowTracker:
        """The store of ``MLFLOW_TRACKING_URI``, else ``tracking.uri``, else the local default; the
        experiment ``tracking.experiment``, else the recipe name."""
        uri = tracking_uri(recipe.tracking.uri)
        return cls(open_client(uri), uri, recipe.tracking.experiment or recipe.name)

    # --- the parent run ---

    def start_run(self, loaded: LoadedRecipe, extra_tags: dict[str, str] | None = None) -> str:
        from mlflow.entities import Param

        self.experiment_id = experiment_id(self.client, self.experiment, self.uri)
        info = provenance()
        tags = {
            "mer4d.recipe": loaded.recipe.name,
            "mer4d.recipe_file": str(loaded.source),
            "mer4d.profile": loaded.profile,
            "mer4d.variant": variant(loaded.overrides),
            STAGE_TAG: loaded.recipe.stage,
            "mlflow.source.name": f"mer4d {'pretrain' if loaded.recipe.stage == 'pretrain' else 'run'}",
        }
        if loaded.recipe.protocol.kind in SUBJECT_OVERLAPPING:  # its scores are not subject-independent
            tags["mer4d.subject_overlap"] = "true"
        if "git_commit" in info:
            tags["mlflow.source.git.commit"] = str(info["git_commit"])
        if loaded.recipe.control != "none":
            tags[CONTROL_TAG] = loaded.recipe.control
        run_name = loaded.recipe.name
        if self.repeat_of is not None:
            tags |= {PARENT_TAG: self.repeat_of, REPEAT_OF_TAG: self.repeat_of, SEED_TAG: str(self.seed)}
            run_name = f"seed {self.seed}"
        tags |= extra_tags or {}
        run = self.client.create_run(self.experiment_id, tags=tags, run_name=run_name)
        run_id = self.parent_run_id = run.info.run_id
        self._know_dataset(loaded.recipe.dataset.name, loaded.recipe.dataset.root, loaded.recipe.stage, loaded.recipe.protocol.kind)
        if REPEATS_TAG not in tags:  # a repeats run only holds its seed runs; they sample the machine while they train
            self.monitor = start_system_metrics(run_id, self.uri)
        params = {k: json.dumps(v) if isinstance(v, list | dict) else str(v) for k, v in flatten(loaded.recipe.model_dump(mode="json")).items() if not k.startswith("profiles.")}
        params["profile"] = loaded.profile
        items = [Param(k, v[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow accepts at most 100 params per batch
            self.client.log_batch(run_id, params=items[start : start + 100])
        self.client.log_text(run_id, recipe_to_yaml(loaded.recipe), RECIPE_ARTIFACT)
        self.client.log_dict(run_id, info, "provenance.json")
        return run_id

    def find_run(self, run_id: str) -> StoredRun:
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException as exc:
            raise TrackingError(f"--resume {run_id}: no such run in the store {self.client.tracking_uri} ({exc.message.splitlines()[0]})") from None
        with tempfile.TemporaryDirectory() as tmp:
            recipe_yaml = Path(self.client.download_artifacts(run_id, RECIPE_ARTIFACT, tmp)).read_text()
        repeats = None
        if REPEATS_TAG in run.data.tags:
            seeds = self.client.search_runs([run.info.experiment_id], f"tags.`{REPEAT_OF_TAG}` = '{run_id}'", max_results=1000)
            repeats = {int(r.data.tags.get(SEED_TAG, -1)): (r.info.run_id, r.info.status) for r in seeds}
        return StoredRun(run.info.status, recipe_yaml, run.data.tags.get(FINGERPRINT_TAG), repeats)

    def resume_run(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")
        self.parent_run_id = run_id
        run = self.client.get_run(run_id)
        self.experiment_id = run.info.experiment_id
        params = run.data.params  # the flattened recipe the run started with (a missing root is logged as "None")
        self._know_dataset(params.get("dataset.name", "dataset"), params.get("dataset.root"), params.get("stage", "train"), params.get("protocol.kind", ""))
        self.monitor = start_system_metrics(run_id, self.uri, resume=True)

    def _know_dataset(self, name: str, root, stage: str, protocol: str) -> None:
        root = None if root in (None, "", "None") else str(root)
        context = "pre-training" if stage == "pretrain" else f"every fold of the {protocol} protocol"
        self.dataset = {"name": name, "root": root, "context": context}

    def set_data(self, fingerprint: str, description: str) -> None:
        self.client.set_tag(self.parent_run_id, FINGERPRINT_TAG, fingerprint)
        self.client.set_tag(self.parent_run_id, "mer4d.dataset", description)
        self.dataset |= {"fingerprint": fingerprint, "description": description}
        self._log_dataset(self.parent_run_id, fingerprint, self.dataset.get("context") or "")

    def _log_dataset(self, run_id: str, fingerprint: str, context: str) -> None:
        d = self.dataset
        log_dataset(self.client, run_id, d.get("name") or "dataset", fingerprint, d.get("description") or "", d.get("root"), context)

    def log_results(self, result: ProtocolResult) -> None:
        log_results(self.client, self.parent_run_id, result)

    def finish_run(self) -> None:
        self._stop_monitor()
        self.client.set_terminated(self.parent_run_id, "FINISHED")

    def _stop_monitor(self) -> None:
        stop_system_metrics(self.monitor)
        self.monitor = None

    # --- repeats: a run holding one seed run per seed ---

    def start_repeats(self, loaded: LoadedRecipe, seeds: list[int]) -> str:
        return self.start_run(loaded, {REPEATS_TAG: str(len(seeds)), SEEDS_TAG: ",".join(map(str, seeds)),
                                       "mlflow.note.content": f"{len(seeds)} seeds of {loaded.recipe.name}; each seed run holds its folds"})

    def seed_tracker(self, seed: int) -> MlflowTracker:
        return MlflowTracker(self.client, self.uri, self.experiment, repeat_of=self.parent_run_id, seed=seed)

    def log_repeats(self, result) -> None:
        tags = [self.client.get_run(r.run_id).data.tags for r in result.runs]  # the data the seeds trained on, for the report's data column
        if "mer4d.dataset" in tags[0]:
            self.client.set_tag(self.parent_run_id, "mer4d.dataset", tags[0]["mer4d.dataset"])
        prints = sorted({t[FINGERPRINT_TAG] for t in tags if FINGERPRINT_TAG in t})
        if prints:
            self.client.set_tag(self.parent_run_id, FINGERPRINT_TAG, ",".join(prints)[:5000])
        self.dataset["description"] = tags[0].get("mer4d.dataset", "")
        for fingerprint in prints:  # the data its seeds read (one fingerprint unless the seed shapes the data)
            self._log_dataset(self.parent_run_id, fingerprint, f"{len(result.runs)} seeds")
        log_repeats(self.client, self.parent_run_id, result)

    # --- two-stage methods: the pre-training run, and the checkpoint a fine-tuning run starts from ---

    def log_stage_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """A pre-training epoch's losses, on the run itself (it has no folds)."""
        self.client.log_batch(self.parent_run_id, metrics=metric_batch({f"pretrain_{k}": v for k, v in metrics.items()}, step=epoch))

    def log_folder(self, folder: Path) -> None:
        self.client.log_artifacts(self.parent_run_id, str(folder))

    def resolve_pretrained(self, reference: str) -> Pretrained:
        stored = self.client.get_run(self.parent_run_id).data.tags.get(PRETRAIN_RUN_TAG) if self.parent_run_id else None
        if stored:  # a resumed run keeps the checkpoint its first folds used, even if a newer one exists
            return self._pretrained_from(reference, self._pretrain_run(stored, reference))
        if reference.startswith("pretrain:"):
            return self._pretrained_from(reference, self._newest_pretrain_run(reference, reference[len("pretrain:"):].strip()))
        if reference.startswith("runs:/"):
            return self._pretrained_from(reference, self._pretrain_run(reference[len("runs:/"):].strip("/").split("/")[0], reference))
        return local_pretrained(reference)

    def set_pretrained(self, pretrained: Pretrained) -> None:
        tags = {"mer4d.pretrain_reference": pretrained.reference, "mer4d.pretrain_datasets": ",".join(pretrained.datasets)}
        if pretrained.run_id is not None:
            tags |= {PRETRAIN_RUN_TAG: pretrained.run_id, "mer4d.pretrain_checkpoint": f"runs:/{pretrained.run_id}/{CHECKPOINT}",
                     "mer4d.pretrain_variant": pretrained.variant}
        else:
            tags["mer4d.pretrain_checkpoint"] = str(pretrained.path)
        for key, value in tags.items():
            self.client.set_tag(self.parent_run_id, key, value)

    def _pretrain_run(self, run_id: str, reference: str):
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            raise TrackingError(f"model.params.init={reference}: no run {run_id} in the store {self.uri}") from None
        if run.data.tags.get(STAGE_TAG) != "pretrain":
            raise TrackingError(f"model.params.init={reference}: run {run_id} is not a pre-training run (its {STAGE_TAG} tag is "
                                f"{run.data.tags.get(STAGE_TAG)!r}); name a run made by 'mer4d pretrain'")
        if run.info.status != "FINISHED":
            raise TrackingError(f"model.params.init={reference}: pre-training run {run_id} is {run.info.status}, not FINISHED; "
                                "its checkpoint may be missing or half-trained. Run mer4d pretrain again")
        return run

    def _newest_pretrain_run(self, reference: str, experiment: str):
        found = self.client.get_experiment_by_name(experiment)
        runs = [] if found is None else self.client.search_runs(
            [found.experiment_id], f"attributes.status = 'FINISHED' and tags.`{STAGE_TAG}` = 'pretrain'", order_by=["attributes.start_time DESC"])
        own = [r for r in runs if not is_ablation(r.data.tags.get("mer4d.variant", ""))]  # the recipe's own method, not an ablation
        if not own:
            ablations = f" ({len(runs)} with method-changing --set variants, named by runs:/RUN_ID)" if runs else ""
            raise TrackingError(f"model.params.init={reference}: no finished pre-training run of the recipe's own method in experiment "
                                f"'{experiment}' of {self.uri}{ablations}; run 'mer4d pretrain recipes/{experiment}.yaml' first")
        return own[0]

    def _pretrained_from(self, reference: str, run) -> Pretrained:
        from mer4d.data.cache import cache_dir, once_folder

        run_id = run.info.run_id

        def download(tmp: Path) -> None:
            for artifact in (SEEN_SUBJECTS, CHECKPOINT):  # MLflow writes a file artifact under its base name in dst
                dst = tmp / Path(artifact).parent
                dst.mkdir(parents=True, exist_ok=True)
                self.client.download_artifacts(run_id, artifact, str(dst))

        folder = once_folder(cache_dir() / "checkpoints" / run_id, download, f"the checkpoint of pre-training run {run_id}")
        subjects, datasets = read_seen(folder, f"pre-training run {run_id}")
        return Pretrained(reference, folder / CHECKPOINT, run_id, subjects, datasets, run.data.tags.get("mer4d.variant", ""))

    def fail_run(self, status: Ending, error: BaseException | None = None) -> None:
        self._stop_monitor()
        self.fail_current_fold(status)
        if error is not None:
            self.client.set_tag(self.parent_run_id, "mer4d.error", f"{type(error).__name__}: {error}"[:5000])
            self.client.log_text(self.parent_run_id, "".join(traceback.format_exception(error)), "traceback.txt")
        self.client.set_terminated(self.parent_run_id, status)

    # --- the folds ---

    def fold_runs(self):
        return self.client.search_runs(
            [self.experiment_id], filter_string=f"tags.`{PARENT_TAG}` = '{self.parent_run_id}'", max_results=10_000
        )

    def completed_folds(self) -> dict[int, FoldOutcome]:
        done: dict[int, FoldOutcome] = {}
        for run in self.fold_runs():
            if run.info.status == "RUNNING":  # left behind by a killed process: that fold is redone
                self.client.set_terminated(run.info.run_id, "KILLED")
                continue
            if run.info.status != "FINISHED" or FOLD_TAG not in run.data.tags:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(self.client.download_artifacts(run.info.run_id, "fold", tmp))
                table = pd.read_csv(folder / "predictions.csv", keep_default_na=False, dtype={c: str for c in TEXT_COLUMNS})
                record = json.loads((folder / "metrics.json").read_text())
            number = int(run.data.tags[FOLD_TAG])
            done[number] = FoldOutcome(number, record["name"], table, record["metrics"], int(record["epochs_run"]))
        return done

    def start_fold(self, number: int, name: str, info: dict[str, object]) -> None:
        from mlflow.entities import Param

        run = self.client.create_run(
            self.experiment_id,
            tags={PARENT_TAG: self.parent_run_id, FOLD_TAG: str(number), "mer4d.fold_name": name},
            run_name=f"fold-{number:02d} {name}",
        )
        self.fold_run_id = run.info.run_id
        self.client.log_batch(self.fold_run_id, params=[Param(k, str(v)[:6000]) for k, v in info.items()])
        if "fingerprint" in self.dataset:  # set_data came first: the fold's input is the same data, split by subject
            split = fold_context(str(info.get("train_subjects", "?")), str(info.get("test_subjects", "?")))
            self._log_dataset(self.fold_run_id, self.dataset["fingerprint"], split)

    def log_epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        self.client.log_batch(self.fold_run_id, metrics=metric_batch(metrics, step=epoch))

    def finish_fold(self, outcome: FoldOutcome) -> None:
        run_id = self.fold_run_id
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "fold"
            folder.mkdir()
            outcome.table.to_csv(folder / "predictions.csv", index=False)
            record = {"name": outcome.name, "metrics": outcome.metrics, "epochs_run": outcome.epochs_run}
            (folder / "metrics.json").write_text(json.dumps(record, indent=1))
            if outcome.checkpoint is not None:  # stored before the fold turns FINISHED, so a finished fold always has it
                save_checkpoint(outcome.checkpoint, Path(tmp) / FOLD_CHECKPOINT)
            self.client.log_artifacts(run_id, str(folder), "fold")
        self.client.log_batch(run_id, metrics=metric_batch(outcome.metrics))
        self.client.set_terminated(run_id, "FINISHED")
        self.fold_run_id = None

    def fail_current_fold(self, status: str) -> None:
        if self.fold_run_id is not None:
            self.client.set_terminated(self.fold_run_id, status)
            self.fold_run_id = None
