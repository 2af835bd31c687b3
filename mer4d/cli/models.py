"""``mer4d models list``."""

from __future__ import annotations

import click


@click.group()
def models() -> None:
    """Registered models."""


@models.command("list")
def list_() -> None:
    """Every registered model with its options and one-line description."""
    import inspect

    from mer4d.models import MODELS

    for name in MODELS.names():
        factory = MODELS.get(name)
        parameters = inspect.signature(factory).parameters.values()
        options = [f"{p.name}={p.default!r}" for p in parameters if p.default is not inspect.Parameter.empty and p.name != "num_aus"]
        if "num_aus" in inspect.signature(factory).parameters:
            options.append("(num_aus: from the data's AU classes)")
        doc = (inspect.getdoc(factory) or "").splitlines()[0] if inspect.getdoc(factory) else ""
        click.echo(f"{name:16s} {doc}")
        if options:
            click.echo(f"{'':16s} options: {', '.join(options)}")
