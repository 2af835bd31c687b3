"""``mer4d data``: write simulated datasets, check real ones, look at clips."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def data() -> None:
    """Simulate, check and inspect datasets."""


@data.command("list")
def list_() -> None:
    """Registered datasets."""
    from mer4d.data.corpora import DATASETS

    for name in DATASETS.names():
        doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()
        click.echo(f"{name:10s} {doc[0] if doc else ''}")


@data.command()
@click.option("--kind", type=click.Choice(["4dme"]), default="4dme", show_default=True, help="Which dataset layout to write.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Output folder (must be empty or absent).")
@click.option("--subjects", type=int, default=None, help="Number of subjects (default: per size).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--size", type=click.Choice(["quick", "full"]), default="quick", show_default=True)
def synth(kind: str, out: Path, subjects: int | None, seed: int, size: str) -> None:
    """Write a simulated dataset laid out exactly like the real one."""
    import time

    from mer4d.synth.writers import WRITERS

    if out.exists() and any(out.iterdir()):
        raise click.UsageError(f"--out {out} is not empty; choose a new folder")
    start = time.perf_counter()
    WRITERS[kind](out, size=size, seed=seed, subjects=subjects)
    click.echo(f"wrote a simulated {kind} dataset to {out} in {time.perf_counter() - start:.1f} s")


@data.command()
@click.option("--dataset", "name", type=click.Choice(["4dme"]), required=True)
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True)
def check(name: str, root: Path) -> None:
    """List every problem in a dataset folder; exit 1 when any is fatal."""
    from mer4d.data.corpora.fourdme import scan
    from mer4d.data.problems import problems_table

    index, problems = scan(root, kinds=("micro", "macro"))
    click.echo(problems_table(problems))
    fatal = sum(p.severity == "fatal" for p in problems)
    click.echo(f"{len(index)} clips indexed; {fatal} fatal problem(s), {len(problems) - fatal} warning(s)")
    if fatal:
        raise SystemExit(1)


@data.command()
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), required=True, help="A folder in the 4DME layout.")
@click.option("--clip", default=None, help="Clip id (sub_ID/fold_name); default the first clip.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("contact_sheet.png"), show_default=True)
def show(root: Path, clip: str | None, out: Path) -> None:
    """Write a PNG contact sheet of one clip: onset, apex, offset, apex-onset, RGB, depth."""
    from mer4d.data.contact_sheet import contact_sheet
    from mer4d.data.corpora.fourdme import scan

    index, _ = scan(root, kinds=("micro", "macro"))
    click.echo(f"wrote {contact_sheet(index, out, clip)}")
