"""SMIC (Li et al. 2013): spontaneous micro-expressions from three cameras, and SMIC-E's long clips.

Two editions of the same recordings (datasets.md §3; folder names are matched without regard to
case, and a spelling other than the release's is a warning naming both):

``edition="smic"`` (the clip release; HS 16 subjects / 164 clips, VIS and NIR 8 / 71 each)::

    <root>/SMIC_all_cropped/HS/s1/micro/negative/s1_ne_01/reg_image046123.bmp   # frames="cropped" (default)
    <root>/SMIC_all_raw/HS/s1/micro/negative/s1_ne_01/image046123.bmp           # frames="raw" (640x480)
    <root>/SMIC_all_cropped/HS/s1/non_micro/s1_n1/...                           # non-ME clips [INF]
    <root>/smic_apex.xlsx                                                       # optional third-party apex list

  SMIC ships no clip sheet: the emotion is the folder name (also coded ``ne``/``po``/``sur`` in the
  clip name, which must agree), onset and offset are the clip's first and last frame numbers and
  there is no apex. The apex is the middle frame unless a third-party apex list is found (the
  ``smic_apex.xlsx`` that circulates for SMIC-HS: ``data, subject, clip, label, onset_frame,
  apex_frame, offset_frame, *_path``, label 0/1/2 = negative/positive/surprise). Subject folders
  are unpadded (``s1``); the Index writes them so (``subject="s1"``, ``clip_id="s1/s1_ne_01"``).
  The apex list was computed (not annotated) on SMIC-HS-E's ME spans: its numbers are taken to be
  the clip release's file numbers too (both are absolute, datasets.md §0.2), which a real copy has
  yet to confirm; an apex outside the clip's frames is a warning and the middle frame is used.
  Known gaps of ``SMIC_all_cropped`` (no ``s18_sur_03``; frames missing in ``s3_po_08`` and three
  other clips) show as an unused apex-list row and as missing frames in the file check.

``edition="smic-e"`` (SMIC-E, long clips for spotting)::

    <root>/SMIC-E_raw image/HS_long/SMIC-HS-E_annotation.xlsx
    <root>/SMIC-E_raw image/HS_long/SMIC-HS-E/s01/s1_ne_01/image17581039.jpg

  One sheet row per long clip, with up to three MEs (``OnsetF/OffsetF``, ``Onset2F/Offset2F``,
  ``Onset3F/Offset3F``; absolute frame numbers as in the file names). Each ME is one Index row
  (``clip_id="s01/s1_ne_01"``, a second ME ``"s01/s1_ne_01#2"``); ``subject`` is the sheet's
  ``Subject`` (``"1"``). The sheet ends with text rows, which are reported and skipped. The column
  names come from loader code [CODE], not from a file we parsed; an apex column (``ApexF``) is used
  if a copy has one, else the middle frame (or the third-party apex list for the first ME).
"""


from __future__ import annotations

from pathlib import Path

import pandas as pd

from mer4d.core.errors import DataError
from mer4d.data.datasets.smic_clips import CAMERAS, EDITIONS, EMOTIONS, FRAME_TREES, INDEX_COLUMNS, NAME, NON_MICRO, _scan_clips
from mer4d.data.datasets.smic_e import scan_long
from mer4d.data.problems import Problem
from mer4d.data.spec import DatasetSpec, LabelScheme, Modality, register, require_root


def scan(root: Path, *, camera: str = "HS", edition: str = "smic", frames: str = "cropped", apex_file: str | None = "auto",
         non_micro: bool = False) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a SMIC or SMIC-E copy into the Index.

    Args:
        root: the folder holding the release (``SMIC_all_cropped/`` and/or ``SMIC_all_raw/`` for
            SMIC; ``SMIC-E_raw image/`` or one ``{camera}_long/`` folder for SMIC-E). The frame
            tree or the camera folder itself is accepted too.
        camera: ``"HS"`` (100 fps, colour), ``"VIS"`` (25 fps, colour) or ``"NIR"`` (25 fps, gray).
        edition: ``"smic"`` (the clip release, labels from folder names) or ``"smic-e"`` (the long
            clips and their ``SMIC-{camera}-E_annotation`` sheet).
        frames: SMIC only: ``"cropped"`` (``SMIC_all_cropped``, what most published results use) or ``"raw"``.
        apex_file: ``"auto"``: use the third-party apex list (:data:`APEX_FILES`) when it is in the
            root (HS only; it covers SMIC-HS); a path (relative to ``root`` or absolute): use that
            file for any camera; None or ``"none"``: middle frames.
        non_micro: SMIC only: also index the ``non_micro`` clips (emotion ``non_micro``, omitted
            by the emotion schemes, the negatives of the detection scheme).

    Returns:
        The Index and the problems found; unusable clips are fatal problems and not in the Index.

    Raises:
        DataError: an unknown option value, or no SMIC layout for ``camera`` under ``root``.
    """
    root = require_root(root, NAME)
    camera = _option(camera, tuple(CAMERAS), "camera").upper()
    edition = _option(edition, EDITIONS, "edition").lower()
    frames = _option(frames, tuple(FRAME_TREES), "frames").lower()
    if edition == "smic":
        rows, problems = _scan_clips(root, camera, frames, apex_file, non_micro)
    else:
        rows, problems = scan_long(root, camera, CAMERAS[camera], apex_file)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS), problems


def _option(value: object, accepted: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value.lower() not in {a.lower() for a in accepted}:
        raise DataError(f"{NAME}: unknown {name} {value!r}; expected one of {list(accepted)} (dataset.params.{name})")
    return value


# --- folders -----------------------------------------------------------------------------------

def _schemes() -> dict[str, LabelScheme]:
    folders = "Li et al. 2013 (SMIC): three classes from the clip folders negative/positive/surprise (datasets.md §3)"
    own = LabelScheme(EMOTIONS, {**{e: e for e in EMOTIONS}, NON_MICRO: None}, f"{folders}; non_micro clips omitted")
    # MEGC2019 takes every SMIC-HS clip with its own class (negative 70, positive 51, surprise 43: datasets.md §9).
    megc = LabelScheme(EMOTIONS, {**{e: e for e in EMOTIONS}, NON_MICRO: None},
                       "MEGC2019 recognition challenge guideline and combined_3class_gt.csv: SMIC-HS keeps its three classes (datasets.md §9)")
    # SMIC's detection task tells ME clips from non-ME clips (Li et al. 2013); needs non_micro=true.
    detection = LabelScheme(("micro", NON_MICRO), {**{e: "micro" for e in EMOTIONS}, NON_MICRO: NON_MICRO},
                            "Li et al. 2013 (SMIC) micro-expression detection: ME clips vs the non_micro clips (scan with non_micro=true)")
    return {"own": own, "megc2019": megc, "detection": detection}


SPEC = register(DatasetSpec(
    name=NAME,
    title="SMIC: HS 16 subjects / 164 clips at 100 fps; VIS and NIR 8 / 71 at 25 fps; SMIC-E long clips (edition='smic-e')",
    scan=scan,
    schemes=_schemes(),
    default_scheme="own",
    modalities={"rgb": Modality("frames_dir", color="rgb"), "gray": Modality("frames_dir", color="gray")},
    default_modality="rgb",
    writer=NAME,
    extra={"fps": dict(CAMERAS), "writer_options": ("camera",)},
))
