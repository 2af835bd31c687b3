"""Recipe -> Corpus: the one clip pipeline every dataset goes through.

source (root or simulator) -> the spec's scan (Index + problems) -> ``dataset.kind`` -> file check
of the chosen modality -> problems (stop, or skip the unusable clips) -> label scheme -> label
shuffle control -> the modality's stage (frames, with the face stage when
``preprocess.face.enabled``; or meshes -> dynamic images) -> Corpus. Each stage takes the typed
recipe section it needs (``SamplingCfg``, ``FaceCfg``, ``RenderCfg``).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mer4d.core.errors import DataError, RecipeError
from mer4d.data.corpus import Corpus
from mer4d.data.filecheck import check_clip_files
from mer4d.data.index import shuffle_labels as shuffled
from mer4d.data.index import validate_index
from mer4d.data.problems import Problem, raise_if_fatal
from mer4d.pipeline.labels import apply_scheme
from mer4d.pipeline.source import Source, locate, scan_source
from mer4d.recipes.schema import Recipe

log = logging.getLogger(__name__)


def load_corpus(recipe: Recipe, progress: bool = True) -> Corpus:
    """Build the Corpus the recipe's ``dataset`` section names, shaped by its sampling, face and render sections."""
    cfg = recipe.dataset
    source = locate(cfg)
    if source.root is None:
        return _generated(source, recipe)
    modality = source.spec.modality(cfg.modality)
    index, problems = scan_source(source, cfg.params, recipe.seed)
    index = select_kind(index, cfg.kind, source)
    if cfg.pseudo_apex is not None:
        index = pseudo_apex(index, cfg.pseudo_apex)
    problems += check_clip_files(index, {cfg.modality or source.spec.default_modality: modality}, progress=progress and len(index) > 200)
    index = settle_problems(index, problems, cfg.on_problem, source)
    index, scheme, label_note = apply_scheme(index, source.spec, cfg.labels)
    if index["subject"].nunique() < 2:
        raise DataError(f"{source.origin}: the Index has one subject ({index['subject'].iat[0]}) after the filters above; "
                        "subject-independent evaluation needs at least 2 (check dataset.root and dataset.kind)")
    notes = [label_note, *([index.attrs['note']] if index.attrs.get('note') else [])]  # a scan's one-line caveat (MEGC2019 subset)
    if cfg.pseudo_apex is not None and (index["kind"] == "macro").any():
        notes.append(f"macro clips: apex = onset + {cfg.pseudo_apex} (pseudo-apex)")
    if cfg.shuffle_labels:
        index = shuffled(index, recipe.seed)
        notes.append("labels SHUFFLED (control)")
    index = validate_index(index, source=source.origin)
    if cfg.root is None and source.spec.writer == "4dme":  # the simulator knows what it planted: per-view visibility for the ceilings
        from mer4d.pipeline.planted import attach_visible

        mesh = modality.reader == "mesh"
        views, yaw, pixels = (tuple(recipe.render.views), recipe.render.yaw_deg, recipe.render.size) if mesh else (("front",), 0.0, recipe.preprocess.size)
        index = attach_visible(index, source.root, cfg.simulator.seed, cfg.simulator.size, views, yaw, pixels, progress)
    if modality.reader == "mesh":
        if recipe.preprocess.face.enabled:
            raise RecipeError("preprocess.face applies to image frames (gray, rgb), not meshes; set preprocess.face.enabled: false "
                              "(mesh clips are cropped in 3D, see render.align / render.crop)")
        from mer4d.pipeline.meshes import mesh_stage

        index, load, note = mesh_stage(index, modality, recipe.render, recipe.sampling.frames, progress)
        notes.append(note)
    else:
        from mer4d.pipeline.frames import frame_loader, frame_reader

        read = frame_reader(index, modality)
        if recipe.preprocess.face.enabled:
            from mer4d.pipeline.faces import face_stage

            index, read, note = face_stage(index, modality, recipe.preprocess.face, progress)
            notes.append(note)
        load = frame_loader(index, modality, recipe.sampling, recipe.preprocess.size, read)
    fold_source = index.attrs.get("fold_source", "")
    return Corpus(
        name=source.spec.name, index=index, classes=tuple(scheme.classes), load_clip=load, fingerprint=fingerprint(index, recipe),
        description=f"{source.origin}: {len(index)} clips, {index['subject'].nunique()} subjects"
                    f"{'; folds ' + fold_source if fold_source else ''}; {'; '.join(notes)}",
        problems=tuple(problems),
    )


def select_kind(index: pd.DataFrame, kind: str, source: Source) -> pd.DataFrame:
    """The rows of ``dataset.kind`` (micro / macro), or every row for ``all``.

    A scan that knows why a kind is absent (``index.attrs["absent_kinds"]``, e.g. CAS(ME)^3 without
    its macro-expression sheet) makes ``all`` and that kind an error naming the missing file.
    """
    absent = index.attrs.get("absent_kinds", {})
    wanted = [k for k in absent if kind in (k, "all")]
    if wanted:
        raise DataError(f"{source.origin}: dataset.kind {kind!r} needs {wanted[0]}-expression clips, but {absent[wanted[0]]}")
    if kind == "all":
        return index
    chosen = index[index["kind"] == kind]
    if chosen.empty:
        raise DataError(f"{source.origin}: no {kind}-expression clips (the Index has {sorted(index['kind'].unique())}); set dataset.kind")
    chosen.attrs = dict(index.attrs)
    return chosen.reset_index(drop=True)


def pseudo_apex(index: pd.DataFrame, offset: int) -> pd.DataFrame:
    """Macro-expression rows take ``onset + offset`` (at most their offset) as apex: MoExt pre-trains on
    the 5th frame of a macro-expression (offset 4) because its motion is as small as a micro apex's
    (arXiv 2407.07345 §3.1, Fig. 3); micro rows keep their annotated apex."""
    macro = index["kind"] == "macro"
    if not macro.any():
        return index
    out = index.copy()
    onset, last = out.loc[macro, "onset"].astype(int), out.loc[macro, "offset"].astype(int)
    out.loc[macro, "apex"] = (onset + offset).clip(upper=last).astype(out["apex"].dtype)
    out.attrs = dict(index.attrs)
    return out


def settle_problems(index: pd.DataFrame, problems: list[Problem], policy: str, source: Source) -> pd.DataFrame:
    """Stop on fatal problems (``dataset.on_problem: error``) or drop their clips (``skip``, each one logged)."""
    warnings = [p for p in problems if p.severity == "warning"]
    if warnings:
        shown = "; ".join(f"{p.clip or '-'}: {p.message}" for p in warnings[:3])
        log.warning(f"{source.spec.name}: {len(warnings)} warning(s) about labels or files, each handled as its message says (e.g. {shown}); "
                    f"'mer4d data check --dataset {source.spec.name} --root {source.root}' lists them all")
    if policy == "error":
        raise_if_fatal(problems, source.spec.name, source.root)
        return index
    fatal = [p for p in problems if p.severity == "fatal"]
    for p in fatal:
        log.warning(f"{source.spec.name}: skipping clip {p.clip or '-'} ({p.where}): {p.message}")
    unusable = {p.clip for p in fatal}
    kept = index[~index["clip_id"].isin(unusable)]
    kept.attrs = dict(index.attrs)
    if kept.empty:
        raise DataError(f"{source.origin}: every clip has a fatal problem; run 'mer4d data check --dataset {source.spec.name} --root {source.root}'")
    return kept.reset_index(drop=True)


def fingerprint(index: pd.DataFrame, recipe: Recipe) -> str:
    """Hash of the clips, their labels and folds, and every setting that shaped them (all stages alike)."""
    keyed = index[["clip_id", "onset", "apex", "offset", "emotion", "fold"]].astype(str)
    if "face_source" in index:
        keyed = keyed.assign(face=index["face_source"])  # where each clip's landmarks came from
    cfg = recipe.dataset
    shaping = repr((cfg.name, cfg.modality, cfg.labels, cfg.kind, cfg.pseudo_apex, recipe.sampling.model_dump(), recipe.preprocess.size,
                    recipe.preprocess.face.model_dump(), recipe.render.model_dump() if cfg.modality == "mesh" else None))
    digest = pd.util.hash_pandas_object(keyed.assign(settings=shaping)).sum()
    return f"{np.uint64(digest):016x}"


def _generated(source: Source, recipe: Recipe) -> Corpus:
    from mer4d.pipeline.generated import GENERATORS

    cfg = recipe.dataset
    make = GENERATORS[source.spec.name]  # options, scheme and modality were checked by locate()
    if recipe.preprocess.face.enabled:
        raise RecipeError(f"preprocess.face.enabled: dataset '{source.spec.name}' has no face alignment; set preprocess.face.enabled: false")
    return make(seed=recipe.seed, frames=recipe.sampling.frames, size=recipe.preprocess.size, shuffle=cfg.shuffle_labels, **cfg.params)


def open_dataset(name: str, root=None, *, modality: str | None = None, labels: str | None = None, kind: str = "micro", frames: int = 8,
                 strategy: str = "uniform", size: int = 112, face: dict | None = None, render: dict | None = None, shuffle_labels: bool = False,
                 on_problem: str = "error", simulator: dict | None = None, seed: int = 0, progress: bool = True, **params) -> Corpus:
    """:func:`load_corpus` without a recipe file (notebooks, tests): the same pipeline, keyword settings.

    ``frames``/``strategy`` are ``sampling``, ``size`` and ``face`` are ``preprocess``, ``render`` is
    ``render``; ``params`` are the dataset's own options (``dataset.params``).
    """
    from pydantic import ValidationError

    from mer4d.recipes.validation import describe_validation_error

    raw = {"name": "open_dataset", "seed": seed, "model": {"name": "-"},
           "dataset": {"name": name, "root": root, "modality": modality, "labels": labels, "kind": kind, "shuffle_labels": shuffle_labels,
                       "on_problem": on_problem, "simulator": simulator or {}, "params": params},
           "sampling": {"frames": frames, "strategy": strategy}, "preprocess": {"size": size, "face": face or {}}, "render": render or {}}
    try:
        recipe = Recipe.model_validate(raw)
    except ValidationError as exc:
        raise RecipeError(describe_validation_error(exc, f"open_dataset({name!r})")) from None
    return load_corpus(recipe, progress=progress)
