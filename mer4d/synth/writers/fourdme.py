"""Write a simulated dataset in the 4DME layout (read back by ``mer4d.data.corpora.fourdme``).

Per subject: a sampled identity and face; per clip: an AU combination (``catalog``), an event
(onset -> apex -> offset) with blinks, head motion and sensor noise, rendered as
- frontal grayscale frames, 60 fps, ``gray_micro/{sub}/{clip}/Frame_{N:09d}.jpg``, with the
  projected 2-D landmarks of every frame in ``landmarks.csv`` beside them (frame,name,x,y pixels;
  a simulator convention: 4DME ships none, so real clips are aligned from detected landmarks);
- Kinect-like RGB and depth (16-bit PNG, mm, noise and holes), 30 fps, from a viewpoint a few
  degrees off frontal: ``kinect_rgb_micro/.../rgb_{M:09d}.jpg``, ``kinect_depth_micro/.../depth_{M:09d}.png``
  with M = N // 2;
- the mesh sequence, 60 fps, binary PLY with vertex colours: ``mesh_micro/.../mesh_{N:09d}.ply``.
Frame numbers are absolute (a clip starts at its onset and ends at its offset, as in 4DME), and
the label spreadsheets hold the 4DME columns. Macro-expression clips go to the ``*_macro``
folders and their own spreadsheet; in the quick size they have gray frames only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import DataError
from mer4d.core.progress import progress_bar
from mer4d.data.readers.landmarks import LANDMARK_COLUMNS, LANDMARK_FILE
from mer4d.geometry.template import LANDMARK_NAMES
from mer4d.labels.au_emotion import FOURDME_EMOTIONS, EmotionRules, emotions_from_aus, format_emotions, fourdme_rules
from mer4d.labels.aus import AUToken, format_aus
from mer4d.render import Rig, View, get_renderer
from mer4d.render.rig import project
from mer4d.synth.animation import synthesize
from mer4d.synth.catalog import draw_clip_aus
from mer4d.synth.events import Distractors, profile, sample_event
from mer4d.synth.face import FaceModel, make_face
from mer4d.synth.identity import sample_identity
from mer4d.synth.writers.files import write_ply, write_xlsx


@dataclass(frozen=True)
class SizeSpec:
    subjects: int
    micro_per_subject: int
    macro_per_subject: int
    face: str  # face resolution
    mesh_stride: int  # grid decimation of the written meshes (file size)
    gray_px: int
    kinect_px: int
    macro_all_modalities: bool


SIZES = {
    "quick": SizeSpec(24, 12, 1, "quick", 2, 128, 96, False),  # 288 micro clips: at 120 the 4D model barely learned (docs/evaluation.md)
    "full": SizeSpec(40, 7, 2, "full", 1, 320, 192, True),
}
GRAY_VIEW = dict(name="gray", projection="orthographic", extent_mm=180.0, distance_mm=600.0, target=(0.0, 20.0, 0.0))
KINECT_VIEW = dict(name="kinect", yaw_deg=8.0, pitch_deg=-4.0, projection="pinhole", fov_deg=24.0, distance_mm=700.0, target=(0.0, 15.0, 0.0))
# Head drift grows like a random walk, with the square root of the window's duration: a subject told
# to keep still drifts ~0.2 degrees / 0.2 mm over a 0.7 s micro window, ~0.5 over a 4 s macro one.
DRIFT_PER_SQRT_S = 0.25
PLANTED_COLUMN, PLANTED_STATIC_COLUMN = "planted_mm", "planted_static_mm"
LIGHT = np.array([0.25, 0.45, 0.86]) / np.linalg.norm([0.25, 0.45, 0.86])


def head_drift(n_frames: int, fps: float) -> float:
    """Largest head excursion per axis (degrees and mm) over a window of ``n_frames``."""
    return DRIFT_PER_SQRT_S * float(np.sqrt(n_frames / fps))


def shade(rendered_texture: np.ndarray, normals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Albedo x (ambient + Lambert) so that geometry changes show in the images, not only texture."""
    lambert = np.clip((normals * LIGHT).sum(-1, keepdims=True), 0.0, 1.0)
    return np.where(mask[..., None], rendered_texture * (0.35 + 0.65 * lambert), 0.0)


def to_uint8(image: np.ndarray, rng: np.random.Generator, noise: float = 1.5) -> np.ndarray:
    return np.clip(image * 255.0 + rng.normal(0.0, noise, image.shape), 0, 255).astype(np.uint8)


def depth_to_png(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """mm -> uint16 with 1 mm noise, 0 where nothing was measured, and a few holes like a ToF sensor."""
    noisy = depth + rng.normal(0.0, 1.0, depth.shape)
    out = np.where(np.isfinite(noisy), np.round(noisy), 0).astype(np.uint16)
    for _ in range(rng.integers(1, 4)):
        cy, cx, r = rng.integers(0, out.shape[0]), rng.integers(0, out.shape[1]), rng.integers(2, 6)
        yy, xx = np.ogrid[: out.shape[0], : out.shape[1]]
        out[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 0
    return out


def decimate(face, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex selection and faces of the face grid taken every ``stride`` rows and columns."""
    rows, cols = face.grid_shape
    r, c = np.arange(0, rows, stride), np.arange(0, cols, stride)
    keep = (r[:, None] * cols + c[None, :]).reshape(-1)
    k = (np.arange(len(r) - 1)[:, None] * len(c) + np.arange(len(c) - 1)[None, :]).reshape(-1)
    faces = np.stack([np.stack([k, k + 1, k + len(c) + 1], 1), np.stack([k, k + len(c) + 1, k + len(c)], 1)], 1).reshape(-1, 3)
    return keep, faces


def vertex_colors(face) -> np.ndarray:
    tex = face.mesh.texture
    u, v = face.mesh.uvs[:, 0], face.mesh.uvs[:, 1]
    px = np.clip(np.round(u * (tex.shape[1] - 1)), 0, tex.shape[1] - 1).astype(int)
    py = np.clip(np.round((1.0 - v) * (tex.shape[0] - 1)), 0, tex.shape[0] - 1).astype(int)
    return tex[py, px]


@dataclass(frozen=True)
class SubjectMesh:
    """A subject's face plus what its written meshes share across clips (built once per subject)."""

    face: FaceModel
    keep: np.ndarray  # vertices written to the PLY files
    faces: np.ndarray  # their triangles
    colors: np.ndarray  # their RGB colours

    @classmethod
    def build(cls, face: FaceModel, stride: int) -> SubjectMesh:
        keep, faces = decimate(face, stride)
        return cls(face, keep, faces, vertex_colors(face)[keep])


def write_fourdme(
    out: Path,
    *,
    size: str = "quick",
    seed: int = 0,
    subjects: int | None = None,
    micro_per_subject: int | None = None,
    label_rules: str = "paper",
    unilateral: bool = True,
    progress: bool = True,
) -> Path:
    """Write the simulated 4DME-layout dataset into ``out`` (created; must be empty).

    ``subjects`` and ``micro_per_subject`` override the size's defaults (small test datasets).
    ``label_rules`` names the AU -> emotion table the Emotion column is derived with: ``paper`` (the
    4DME paper's Table 4 and rules) or ``reconstruction`` (mer4d's earlier table, simulator <= v5).
    ``unilateral=False`` makes every one-sided AU bilateral (``L12`` -> ``AU12``): same draws, same
    labels, no sides. Both are recipe options: ``dataset.simulator.params.label_rules`` / ``.unilateral``.
    """
    if size not in SIZES:
        raise DataError(f"unknown simulator size '{size}'; expected one of {sorted(SIZES)}")
    rules = _simulator_rules(label_rules)
    if not isinstance(unilateral, bool):
        raise DataError(f"4DME simulator option unilateral: expected true or false, got {unilateral!r} "
                        "(e.g. --set dataset.simulator.params.unilateral=false)")
    spec = SIZES[size]
    if micro_per_subject is not None:
        spec = replace(spec, micro_per_subject=micro_per_subject)
    n_subjects = spec.subjects if subjects is None else subjects
    if n_subjects < 2:
        raise DataError(f"the simulator needs at least 2 subjects for subject-independent folds, got {n_subjects}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    renderer = get_renderer("open3d")
    gray_rig = Rig((View(width=spec.gray_px, height=spec.gray_px, **GRAY_VIEW),))
    kinect_rig = Rig((View(width=spec.kinect_px, height=spec.kinect_px, **KINECT_VIEW),))
    fold_of = np.random.default_rng([seed, 99]).permutation(n_subjects) % 5 + 1
    rows: dict[str, list[dict]] = {"micro": [], "macro": []}
    jobs = [(s, kind, i) for s in range(n_subjects) for kind, count in (("micro", spec.micro_per_subject), ("macro", spec.macro_per_subject)) for i in range(count)]
    subjects_made: dict[int, SubjectMesh] = {}
    for s, kind, i in progress_bar(jobs, desc=f"simulating 4DME ({size})", unit="clip", disable=not progress):
        if s not in subjects_made:
            subjects_made[s] = SubjectMesh.build(simulated_face(seed, s, size), spec.mesh_stride)
        row = _write_clip(out, subjects_made[s], s, kind, i, spec, seed, renderer, gray_rig, kinect_rig, rules, unilateral)
        row["fold"] = int(fold_of[s])
        rows[kind].append(row)
    for kind, table_rows in rows.items():
        if table_rows:
            table = pd.DataFrame(table_rows)
            for emotion in FOURDME_EMOTIONS:  # one-hot columns, as in the release file
                table[emotion] = [int(emotion in e.split("+")) for e in table["Emotion"]]
            write_xlsx(out / f"4DME_Labelling_{kind.capitalize()}_release v1.xlsx", table)
    return out


def _simulator_rules(name: object) -> EmotionRules:
    try:
        return fourdme_rules(name)  # type: ignore[arg-type]
    except DataError as exc:
        raise DataError(f"4DME simulator option label_rules: {exc}") from None


def _write_clip(out, subject: SubjectMesh, s, kind, i, spec, seed, renderer, gray_rig, kinect_rig, rules, unilateral) -> dict:
    face = subject.face
    rng = np.random.default_rng([seed, s, 0 if kind == "micro" else 1, i])
    sub, name = f"S{s + 1:02d}", f"S{s + 1:02d}_{'1st' if kind == 'micro' else 'mac'}_{i + 1:03d}_01_1"
    combo, static = draw_clip_aus(rng, unilateral=unilateral)
    window = 40 if kind == "micro" else 260
    event = sample_event(rng, kind, 60.0, window, combo, face=face)
    tracks = [(profile(event, window), event.aus)]
    held = {static: float(rng.uniform(0.3, 0.8))} if static is not None else {}
    if held:
        tracks.append((np.ones(window), held))
    drift = head_drift(window, 60.0)
    animation = synthesize(face, tracks, window, 60.0, rng, Distractors(head_motion_mm=drift, head_motion_deg=drift))
    base = int(rng.integers(200, 9000)) * 2  # absolute frame number of the window start (even, for 30 fps pairing)
    onset, apex, offset = base + event.onset, base + event.apex, base + event.offset
    frames = range(event.onset, event.offset + 1)
    all_modalities = kind == "micro" or spec.macro_all_modalities
    folders = {m: out / f"{m}_{kind}" / sub / name for m in ("gray", "kinect_rgb", "kinect_depth", "mesh")}
    for m, folder in folders.items():
        if m == "gray" or all_modalities:
            folder.mkdir(parents=True, exist_ok=True)
    gray = renderer.render(_frames(animation, frames), gray_rig)
    shaded = shade(gray.texture[:, 0], gray.normals[:, 0], gray.mask[:, 0]) @ np.array([0.299, 0.587, 0.114])
    for k, t in enumerate(frames):
        cv2.imwrite(str(folders["gray"] / f"Frame_{base + t:09d}.jpg"), to_uint8(shaded[k], rng), [cv2.IMWRITE_JPEG_QUALITY, 92])
    write_landmarks(folders["gray"] / LANDMARK_FILE, face, animation.vertices[list(frames)], [base + t for t in frames], gray_rig.views[0])
    if all_modalities:
        even = [t for t in frames if (base + t) % 2 == 0]
        kin = renderer.render(_frames(animation, even), kinect_rig)
        rgb = shade(kin.texture[:, 0], kin.normals[:, 0], kin.mask[:, 0])
        for k, t in enumerate(even):
            m = (base + t) // 2
            cv2.imwrite(str(folders["kinect_rgb"] / f"rgb_{m:09d}.jpg"), to_uint8(rgb[k], rng)[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
            cv2.imwrite(str(folders["kinect_depth"] / f"depth_{m:09d}.png"), depth_to_png(kin.depth[k, 0], rng))
        for t in frames:
            write_ply(folders["mesh"] / f"mesh_{base + t:09d}.ply", animation.vertices[t, subject.keep], subject.faces, subject.colors)
    tokens = [AUToken(code) for code in event.aus] + ([AUToken(static, static=True)] if static else [])
    return {
        "sub_ID": sub, "fold_name": name, "Onset": onset, "Apex": apex, "Offset": offset,
        "AUs": format_aus(tokens), "Emotion": format_emotions(emotions_from_aus(tokens, rules), rules=rules),
        "apex_mm": round(float(max(event.aus.values())), 3),
        # what was planted, AU=mm at the apex (a simulator column: real 4DME has none); ceilings read it
        PLANTED_COLUMN: planted_text(event.aus), PLANTED_STATIC_COLUMN: planted_text(held),
    }


def planted_text(amplitudes: dict[str, float]) -> str:
    """``{"L12": 0.7341}`` -> ``"L12=0.734"`` (space-separated), read back by :func:`parse_planted`."""
    return " ".join(f"{code}={mm:.3f}" for code, mm in amplitudes.items())


def parse_planted(text: object) -> dict[str, float]:
    """The inverse of :func:`planted_text`; an empty cell is no AU."""
    if not isinstance(text, str) or not text.strip():
        return {}
    out = {}
    for item in text.split():
        code, _, mm = item.partition("=")
        out[code] = float(mm)
    return out


def simulated_face(seed: int, subject: int, size: str = "quick") -> FaceModel:
    """The neutral face the writer built for subject number ``subject`` (0-based) of dataset ``seed``."""
    return make_face(sample_identity(np.random.default_rng([seed, subject])), SIZES[size].face)


def write_landmarks(path: Path, face: FaceModel, vertices: np.ndarray, numbers: list[int], view: View) -> None:
    """``frame,name,x,y`` rows: every landmark of every frame, projected to pixels (column, row) of ``view``.

    Positions come from the animated vertices, so they follow head motion and AU movement the
    way a landmark tracker run on the images would (without its noise).
    """
    points = face.landmark_positions(vertices)  # (T, L, 3)
    uv, _ = project(view, points.reshape(-1, 3))
    uv = uv.reshape(len(numbers), len(LANDMARK_NAMES), 2)
    lines = [",".join(LANDMARK_COLUMNS)]
    for number, frame_uv in zip(numbers, uv, strict=True):
        lines += [f"{number},{name},{x:.2f},{y:.2f}" for name, (x, y) in zip(LANDMARK_NAMES, frame_uv, strict=True)]
    path.write_text("\n".join(lines) + "\n")


def _frames(animation, indices) -> MeshSeq:
    """The animated frames ``indices`` as a textured MeshSeq, for the renderer."""
    mesh = animation.face.mesh
    return MeshSeq(animation.vertices[list(indices)], mesh.faces, animation.fps, uvs=mesh.uvs, texture=mesh.texture)
