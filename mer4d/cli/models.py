"""``mer4d models list``."""

from __future__ import annotations

import click

PAPER_CLASSES = 7  # DFME's emotion classes: the count ``mer4d models list`` reports parameters for


@click.group()
def models() -> None:
    """Registered models."""


def capabilities(info) -> str:
    """One line of what a model's registered ``ModelInfo`` declares."""
    parts = [f"{info.kind} model", f"input {info.input}"]
    if info.input.sized_by:
        parts[-1] += " with " + ", ".join(f"{dim} = {option}" for dim, option in info.input.sized_by.items())
    if info.learns_aus:
        parts.append("learns AUs (num_aus: from the data's AU classes)")
    if info.kind == "torch":
        parts.append(f"training loss: {info.training_loss}")
    if info.multilabel_option:
        parts.append(f"model.params.{info.multilabel_option} must match the task (single- or multi-label)")
    return "; ".join(parts)


@models.command("list")
def list_() -> None:
    """Every registered model with its options, capabilities and one-line description."""
    from mer4d.models import MODELS
    from mer4d.models.registry import paper_parameter_count

    for name in MODELS.names():
        entry = MODELS.get(name)
        click.echo(f"{name:16s} {entry.summary}")
        options = ", ".join(f"{k}={v!r}" for k, v in entry.options().items())
        if options:
            click.echo(f"{'':16s} options: {options}")
        click.echo(f"{'':16s} {capabilities(entry.info)}")
        if entry.info.paper_input is not None:
            sizes = " x ".join(map(str, entry.info.paper_input))
            count = paper_parameter_count(name, num_classes=PAPER_CLASSES)
            click.echo(f"{'':16s} paper input {sizes}: {count:,} parameters at the default options, {PAPER_CLASSES} classes (DFME)")
