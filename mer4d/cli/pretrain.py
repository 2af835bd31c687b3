"""``mer4d pretrain``."""

from __future__ import annotations

import click

from mer4d.cli.options import overrides_option, profile_option


@click.command()
@click.argument("recipe")
@overrides_option
@profile_option
@click.option("--progress/--no-progress", default=True, help="Show progress on stderr: bars on a terminal, a line per step in a log or pipe.")
def pretrain(recipe: str, overrides: tuple[str, ...], profile: str | None, progress: bool) -> None:
    """Run the pre-training stage of RECIPE (stage: pretrain) as one tracked run; fine-tuning
    recipes name it with model.params.init: pretrain:EXPERIMENT or runs:/RUN_ID."""
    import logging

    from tqdm.contrib.logging import logging_redirect_tqdm

    from mer4d.core.progress import set_enabled
    from mer4d.recipes import load_recipe

    set_enabled(progress)  # every bar of the process, the simulator writers' included
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("mer4d").setLevel(logging.INFO)

    from mer4d.train.distributed import env_world

    found = env_world()
    if found is not None and found.parallel:
        raise click.UsageError("mer4d pretrain runs in one process (its data-parallel training is not written yet): "
                               "start it without torchrun; 'torchrun ... -m mer4d run' trains the fine-tuning folds data-parallel")
    loaded = load_recipe(recipe, overrides, profile)
    click.echo(loaded.banner(), err=True)
    from mer4d.tracking.mlflow_tracker import MlflowTracker
    from mer4d.train.pretrain_stage import CHECKPOINT, check_stage, run_pretrain_stage

    check_stage(loaded.recipe)
    tracker = MlflowTracker.for_recipe(loaded.recipe)
    with logging_redirect_tqdm():
        done = run_pretrain_stage(loaded, tracker, progress=progress)
    last = done.history[-1]
    click.echo(f"run {done.run_id} in {tracker.uri} (experiment {tracker.experiment}): pre-trained on {done.pairs} onset/apex pairs, "
               f"{len(done.history)} epochs")
    click.echo("last epoch   " + "  ".join(f"{k} {v:.4f}" for k, v in last.items() if k != "lr"))
    click.echo(f"checkpoint   runs:/{done.run_id}/{CHECKPOINT} (and reconstruction.png, seen_subjects.json)")
    click.echo(f"fine-tune    --set model.params.init=runs:/{done.run_id}  (or model.params.init: pretrain:{tracker.experiment})")
