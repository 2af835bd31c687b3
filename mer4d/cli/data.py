"""``mer4d data``: list datasets, write simulated ones, check real ones, look at clips."""

from __future__ import annotations

from pathlib import Path

import click


def _params(pairs: tuple[str, ...]) -> dict:
    """``--param key=value`` pairs (values read as YAML scalars: 2019 -> int, A -> str)."""
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.UsageError(f"--param {pair!r}: expected KEY=VALUE, e.g. --param coding=2014")
        out[key.strip()] = yaml.safe_load(value)
    return out


param_option = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                            help="A dataset option, as dataset.params in a recipe (e.g. --param camera=VIS); repeatable.")

progress_option = click.option("--progress/--no-progress", default=True, help="Show progress on stderr: a bar on a terminal, a line per step in a log or pipe.")


@click.group()
def data() -> None:
    """Simulate, check and inspect datasets."""


@data.command("list")
def list_() -> None:
    """Registered datasets, their label schemes, modalities and simulator."""
    from mer4d.data.datasets import DATASETS

    for name in DATASETS.names():
        spec = DATASETS.get(name)
        click.echo(f"{name:10s} {spec.title}")
        schemes = ", ".join(f"{s}{'*' if s == spec.default_scheme else ''} ({len(spec.schemes[s].classes)})" for s in spec.schemes)
        modalities = ", ".join(f"{m}{'*' if m == spec.default_modality else ''}" for m in spec.modalities)
        click.echo(f"{'':10s}   labels: {schemes}; modalities: {modalities}; simulator: {spec.writer or '-'}")
    click.echo("(* = default; a recipe picks with dataset.labels and dataset.modality)")


@data.command()
@click.option("--kind", required=True, metavar="DATASET", help="Which layout to write (mer4d data list: the simulator column).")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder (must be empty or absent).")
@click.option("--subjects", type=int, default=None, help="Number of subjects (default: per size), for writers that take it.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", default="quick", show_default=True, help="quick (small, fast) or published/full (the real counts, slow).")
@param_option
@progress_option
def synth(kind: str, out: Path, subjects: int | None, seed: int, size: str, params: tuple[str, ...], progress: bool) -> None:
    """Write a simulated dataset laid out exactly like the real one.

    Every layout also takes --param annotators=N (--param disagreement=p, default 0.2): N simulated
    annotators per clip in annotators.csv, for 'mer4d analyze agreement'.
    """
    import time

    from mer4d.core.progress import set_enabled

    set_enabled(progress)
    from mer4d.core.errors import DataError
    from mer4d.core.registry import did_you_mean
    from mer4d.synth.writers import WRITERS

    if kind not in WRITERS:
        raise DataError(f"--kind {kind!r}: no simulator writes that layout{did_you_mean(kind, WRITERS)}; available: {', '.join(sorted(WRITERS))}")
    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"--out {out} is not empty; choose a new folder")
    options = _params(params)
    if subjects is not None:
        options["subjects"] = subjects
    start = time.perf_counter()
    WRITERS[kind](out, size=size, seed=seed, **options)
    click.echo(f"wrote a simulated {kind} dataset to {out} in {time.perf_counter() - start:.1f} s")


@data.command()
@click.option("--dataset", "name", required=True, help="Registered dataset (mer4d data list).")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True)
@click.option("--quick", is_flag=True, help="Only check that the files exist and are not empty (do not decode every frame).")
@param_option
@progress_option
def check(name: str, root: Path, quick: bool, params: tuple[str, ...], progress: bool) -> None:
    """List every problem in a dataset folder (opening every file a run reads); exit 1 when any is fatal."""
    from mer4d.core.errors import DataError
    from mer4d.core.options import check_options
    from mer4d.data.datasets import DATASETS
    from mer4d.data.filecheck import check_dataset
    from mer4d.data.problems import problems_table

    spec = DATASETS.get(name)
    if spec.scan is None:
        raise DataError(f"dataset {name} is generated in code; there is no folder to check")
    options = _params(params)
    check_options(spec.scan, options, f"--param (dataset '{name}')", reserved=("root", "seed"))
    index, problems = check_dataset(spec, root, options, deep=not quick, progress=progress)
    click.echo(problems_table(problems))
    fatal = sum(p.severity == "fatal" for p in problems)
    subjects = index["subject"].nunique()
    kinds = index["kind"].value_counts() if "kind" in index else None
    per_kind = f" ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})" if kinds is not None and len(kinds) > 1 else ""
    click.echo(f"{len(index)} clips indexed{per_kind}, {subjects} subject(s){' (a subject-independent protocol needs at least 2)' if subjects < 2 else ''}; "
               f"{fatal} fatal problem(s), {len(problems) - fatal} warning(s)")
    if fatal:
        raise SystemExit(1)


@data.command()
@click.option("--dataset", "name", default="4dme", show_default=True, help="Registered dataset (mer4d data list).")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True, help="The dataset's folder.")
@click.option("--clip", default=None, help="Clip id (as 'mer4d data check' lists them); default the first clip.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("contact_sheet.png"), show_default=True)
@param_option
def show(name: str, root: Path, clip: str | None, out: Path, params: tuple[str, ...]) -> None:
    """Write a PNG contact sheet of one clip: onset, apex, offset, apex-onset, and the other image modalities."""
    from mer4d.data.contact_sheet import contact_sheet
    from mer4d.data.datasets import DATASETS

    spec = DATASETS.get(name)
    index, _ = spec.run_scan(root, **_params(params))
    click.echo(f"wrote {contact_sheet(index, out, clip, spec.modalities)}")
