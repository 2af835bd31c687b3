"""Analyses of labels, annotations and runs (``mer4d analyze``): AU statistics per emotion, consistency
with the 4DME AU -> emotion rules, annotator agreement; each logged as a run of the ``analysis``
experiment. Sits above ``mer4d.tracking`` (it logs through it) and below the CLI."""
