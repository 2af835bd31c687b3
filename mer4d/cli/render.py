"""``mer4d render``: look at a mesh, a mesh sequence or a dataset clip from the left / front / right views.

INPUT is one mesh file (anything trimesh reads: textured OBJ, vertex-coloured PLY, bare meshes),
a folder of per-frame meshes, or a clip id of a 4DME-layout dataset given with ``--root``. Files
are read by :mod:`mer4d.data.readers.mesh_seq` (one file leniently: scenes are merged, a texture
that cannot be loaded is a note), and the images come from the 4D pipeline's own chain
(:mod:`mer4d.preprocess.mesh_views`: alignment, framing from the clip's extent, each view cut to
its own face box, DPI / E-DPI / gray texture, dynamic images), so the depth, E-DPI and dynamic
images written here are the ones the models are trained on. The face box is the union over the
frames rendered: with ``--all-frames`` or ``--dynamic`` that is the whole clip, as in training.
Texture frames are shown in colour; the models (and the texture dynamic image) see their gray.

Only click is imported at module level: ``mer4d --help`` and ``mer4d render --help`` stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

RENDER_CHUNK = 8  # frames per render call

VIEWS = ("left", "front", "right")
DOMAINS = ("depth", "edpi", "texture", "normals")
PIPELINE_DOMAIN = {"depth": "dpi", "edpi": "edpi", "texture": "texture"}  # CLI name -> mesh_views domain; normals are CLI-only
ALIGN = ("auto", "landmarks", "icp", "none")
# As mer4d.render.BACKENDS and mer4d.preprocess.domains.EDPI_METHODS, repeated so --help imports nothing.
BACKENDS = ("auto", "open3d", "pytorch3d")
EDPI_METHODS = ("highpass", "clahe", "mix")
MAX_LISTED = 30  # print every file written up to this many, then a summary


def _names(kind: str, known: tuple[str, ...]):
    """A click callback turning "a,b" into a checked tuple of names, with did-you-mean on a miss."""

    def parse(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
        from mer4d.core.registry import did_you_mean

        names = tuple(dict.fromkeys(n.strip() for n in value.split(",") if n.strip()))
        if not names:
            raise click.BadParameter(f"name at least one {kind}: some of {','.join(known)}")
        for name in names:
            if name not in known:
                hint = did_you_mean(name, known, n=3)
                raise click.BadParameter(f"unknown {kind} {name!r}{hint} Known: {', '.join(known)}.")
        return names

    return parse


@click.command()
@click.argument("source", metavar="INPUT")
@click.option("--root", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None,
              help="A dataset folder in the 4DME layout; INPUT is then a clip id such as S01/S01_1st_001_01_1.")
@click.option("--views", default="left,front,right", show_default=True, callback=_names("view", VIEWS), help="Comma-separated views.")
@click.option("--yaw", type=click.FloatRange(-180.0, 180.0), default=30.0, show_default=True, help="Yaw of the side views, degrees.")
@click.option("--domains", default="depth,texture", show_default=True, callback=_names("domain", DOMAINS),
              help="Comma-separated among depth (the DPI), edpi, texture, normals (RGB = (n + 1) / 2).")
@click.option("--edpi", "edpi_method", type=click.Choice(EDPI_METHODS), default="highpass", show_default=True,
              help="E-DPI method, as the recipe's render.edpi (mix: gray texture x DPI).")
@click.option("--size", type=click.IntRange(8, 4096), default=224, show_default=True, help="Image side in pixels.")
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True, help="Renderer.")
@click.option("--align", type=click.Choice(ALIGN), default=None,
              help="Rigid alignment to the canonical face (then the face is cropped). Default: none for a single mesh file, "
              "auto (landmarks, else ICP) for sequences and clips.")
@click.option("--dynamic", is_flag=True, help="Also write the dynamic image of the sequence per view x domain.")
@click.option("--all-frames", is_flag=True, help="Write every frame, not only onset / middle (apex) / last.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=Path("render_out"), show_default=True, help="Output folder.")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar for sequences (on stderr).")
def render(source: str, root: Path | None, views: tuple[str, ...], yaw: float, domains: tuple[str, ...], edpi_method: str, size: int,
           backend: str, align: str | None, dynamic: bool, all_frames: bool, out: Path, progress: bool) -> None:
    """Render INPUT (a mesh file, a folder of per-frame meshes, or a clip id with --root) to PNGs and a contact sheet."""
    seq, label, keys, default_align = _load_input(source, root)
    align = align or default_align
    if dynamic and len(seq) < 2:
        raise click.UsageError(f"--dynamic needs a sequence of at least 2 frames; {label} has {len(seq)}")
    settings = _settings(views, yaw, domains, edpi_method, size, backend, align)
    if align != "none":
        seq = _align(seq, settings, label)
    shown = list(range(len(seq))) if all_frames else keys
    rendered = sorted(set(range(len(seq)))) if dynamic else sorted(set(shown))
    images = _render(seq, rendered, settings, domains, progress)
    written = _write_frames(images, seq, rendered, shown, domains, out)
    dynamics = _dynamic_images(images, settings, domains) if dynamic else {}
    written += _write_dynamic(dynamics, views, out)
    title = f"{label} | {len(seq)} frame(s) | align {align} | {images['backend']} | {size} px" + (f" | E-DPI {edpi_method}" if "edpi" in domains else "")
    sheet = _contact_sheet(images, dynamics, seq, rendered, keys, views, domains, out / "contact_sheet.png", title)
    _report(written + [sheet], out, f"{label}: {len(rendered)} of {len(seq)} frame(s) rendered")


def _settings(views: tuple[str, ...], yaw: float, domains: tuple[str, ...], edpi_method: str, size: int, backend: str, align: str) -> Any:
    """The :class:`MeshViewSettings` the pipeline would use for these options (the face is cropped when aligned)."""
    from mer4d.preprocess.mesh_views import MeshViewSettings

    wanted = tuple(PIPELINE_DOMAIN[d] for d in domains if d in PIPELINE_DOMAIN) or ("dpi",)  # normals alone still need the mask
    return MeshViewSettings(views=views, yaw_deg=yaw, size=size, domains=wanted, edpi=edpi_method, align=align, crop=align != "none",
                            backend=backend)


def _load_input(source: str, root: Path | None) -> tuple[Any, str, list[int], str]:
    """(MeshSeq, label, key frame positions, default alignment) for a file, a folder or a clip id."""
    from mer4d.core.errors import DataError

    if root is not None:
        return _load_clip(source, root)
    path = Path(source)
    if not path.exists():
        raise click.BadParameter(f"{source} does not exist (no such mesh file or folder); to render a dataset clip, "
                                 "pass its id with --root DATASET_FOLDER", param_hint="INPUT")
    if path.is_dir():
        from mer4d.data.readers import read_mesh_seq

        seq = read_mesh_seq(path)
        return seq, f"{path.name}/", _three(len(seq)), "auto"
    if not path.is_file():
        raise DataError(f"{path} is neither a regular file nor a folder")
    from mer4d.data.readers.mesh_seq import read_mesh_file

    notes: list[str] = []
    seq = read_mesh_file(path, lenient=True, notes=notes)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    return seq, path.name, [0], "none"


def _align(seq: Any, settings: Any, label: str) -> Any:
    """The pipeline's clean -> align -> face crop; a failure says how to just look at the mesh."""
    from mer4d.geometry import GeometryError
    from mer4d.preprocess.mesh_views import prepare_clip

    try:
        return prepare_clip(seq, settings)
    except GeometryError as exc:
        raise GeometryError(f"--align {settings.align} could not align {label} to the canonical face: {exc} Alignment expects a face mesh in "
                            "millimetres; pass --align none to render the mesh as it is.") from exc


def _three(count: int) -> list[int]:
    """Positions of the first, middle and last frames (fewer for short sequences)."""
    return sorted({0, (count - 1) // 2, count - 1})


def _load_clip(clip: str, root: Path) -> tuple[Any, str, list[int], str]:
    from mer4d.core.errors import DataError
    from mer4d.core.registry import did_you_mean
    from mer4d.data.datasets.fourdme import scan
    from mer4d.data.readers import read_mesh_seq

    index, _ = scan(root)
    hit = index[index["clip_id"] == clip.strip("/")]
    if hit.empty:
        ids = list(index["clip_id"])
        hint = did_you_mean(clip, ids, n=3)
        raise DataError(f"clip {clip!r} is not in the dataset at {root}{hint} Clip ids look like SUBJECT/CLIP_NAME, "
                        f"e.g. {', '.join(ids[:3])} ({len(ids)} clips; 'mer4d data check --dataset 4dme --root {root}' lists problems).")
    row = hit.iloc[0]
    if not isinstance(row["mesh_dir"], str):
        raise DataError(f"clip {clip!r} has no mesh folder under {root} (expected mesh_{row['kind']}/{row['subject']}/{row['clip_name']}/)")
    seq = read_mesh_seq(row["mesh_dir"], first=int(row["onset"]), last=int(row["offset"]), fps=float(row["fps"]))
    numbers = list(seq.frame_numbers)
    keys = sorted({numbers.index(n) for n in (row["onset"], row["apex"], row["offset"]) if n in numbers})
    return seq, f"{clip} ({row['kind']}, frames {row['onset']}-{row['apex']}-{row['offset']}, {row['emotion']})", keys or [0], "auto"


def _render(seq: Any, positions: list[int], settings: Any, domains: tuple[str, ...], progress: bool) -> dict[str, Any]:
    """Render ``positions`` of ``seq`` through the pipeline's chain.

    Returns the pipeline's domain frames (T', V, size, size) ("dpi", "edpi", "texture" gray, "mask"),
    the CLI's images by CLI domain name ("depth", "edpi", "texture" RGB, "normals" RGB), the
    backend name and the view names.
    """
    import numpy as np

    from mer4d.core.containers import MeshSeq
    from mer4d.core.progress import progress_bar
    from mer4d.preprocess.mesh_views import domain_frames, render_domains, view_rig
    from mer4d.render import Rendered, get_renderer

    renderer = get_renderer(settings.backend)
    rig = view_rig(seq, settings)  # from the whole clip, whichever frames are shown
    wanted = render_domains(settings) + (("normals",) if "normals" in domains else ())
    chosen = seq.vertices[positions]
    parts = []
    # Chunks of frames: one render call each (batched backends batch them), a progress step per chunk.
    chunks = [chosen[i : i + RENDER_CHUNK] for i in range(0, len(chosen), RENDER_CHUNK)]
    for chunk in progress_bar(chunks, desc=f"rendering {len(chosen)} frames", unit="chunk", disable=not progress or len(chunks) < 2):
        parts.append(renderer.render(MeshSeq(chunk, seq.faces, seq.fps, uvs=seq.uvs, texture=seq.texture, colors=seq.colors), rig, wanted))

    def joined(name: str) -> Any:
        arrays = [getattr(p, name) for p in parts]
        return None if arrays[0] is None else np.concatenate(arrays)

    out = Rendered(depth=joined("depth"), texture=joined("texture"), normals=joined("normals"), mask=joined("mask"), view_names=rig.names)
    extras = {}
    if "texture" in domains:
        extras["rgb"] = out.texture
    if "normals" in domains:
        rgb = np.clip((out.normals + 1.0) / 2.0, 0.0, 1.0)
        extras["normals"] = np.where(out.mask[..., None], rgb, 0.0).astype(np.float32)
    frames = domain_frames(out, settings, extras)
    shown = {"depth": "dpi", "edpi": "edpi", "texture": "rgb", "normals": "normals"}
    images = {d: frames[shown[d]] for d in domains}
    return {**images, "frames": frames, "backend": renderer.name, "views": rig.names}


def _dynamic_images(images: dict[str, Any], settings: Any, domains: tuple[str, ...]) -> dict[str, Any]:
    """{domain: (V, H, W) or (V, H, W, 3)} dynamic images in [0, 1], each normalised per view and domain."""
    import numpy as np

    from mer4d.preprocess.dynamic import dynamic_image
    from mer4d.preprocess.mesh_views import dynamic_images

    pooled = dynamic_images(images["frames"], settings.domains)  # the pipeline's images; texture as gray, as the models see it
    out = {d: pooled[:, settings.domains.index(PIPELINE_DOMAIN[d])] for d in domains if d in PIPELINE_DOMAIN}
    if "normals" in domains:  # one RGB dynamic image: the three channels share one range
        clip = np.ascontiguousarray(images["normals"].transpose(1, 0, 4, 2, 3))  # (V, T, 3, H, W)
        rgb = dynamic_image(clip, dim=1, normalize="minmax", percentiles=(1.0, 99.0))
        out["normals"] = np.clip(rgb.transpose(0, 2, 3, 1), 0.0, 1.0)
    return {d: out[d] for d in domains}


def _save(path: Path, image: Any) -> Path:
    import cv2
    import numpy as np

    pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    if pixels.ndim == 3:
        pixels = np.ascontiguousarray(pixels[..., ::-1])  # RGB -> OpenCV's BGR
    if not cv2.imwrite(str(path), pixels):
        from mer4d.core.errors import DataError

        raise DataError(f"could not write {path}; check that the --out folder is writable")
    return path


def _write_frames(images: dict[str, Any], seq: Any, rendered: list[int], shown: list[int], domains: tuple[str, ...], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    views = images["views"]
    numbers = seq.frame_numbers if seq.frame_numbers is not None else range(len(seq))
    width = len(str(max(int(n) for n in numbers)))
    written = []
    for t in shown:
        prefix = "" if len(seq) == 1 else f"frame{int(numbers[t]):0{width}d}_"
        row = rendered.index(t)
        for v, view in enumerate(views):
            written += [_save(out / f"{prefix}{view}_{d}.png", images[d][row, v]) for d in domains]
    return written


def _write_dynamic(dynamics: dict[str, Any], views: tuple[str, ...], out: Path) -> list[Path]:
    return [_save(out / f"dynamic_{view}_{d}.png", di[v]) for d, di in dynamics.items() for v, view in enumerate(views)]


def _contact_sheet(images: dict[str, Any], dynamics: dict[str, Any], seq: Any, rendered: list[int], keys: list[int],
                   views: tuple[str, ...], domains: tuple[str, ...], path: Path, title: str) -> Path:
    """A grid a person can read: views x domains for one mesh; (domain, view) rows x key frames (+ dynamic image) for a sequence."""
    import textwrap

    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    numbers = seq.frame_numbers if seq.frame_numbers is not None else range(len(seq))
    label = {d: "depth (DPI)" if d == "depth" else d for d in domains}
    if seq.uvs is None and seq.colors is None:
        label["texture"] = "texture (no colours:\nshaded)"
    if len(seq) == 1:
        heads = [label[d] for d in domains]
        rows = [(view, [images[d][0, v] for d in domains]) for v, view in enumerate(views)]
    else:
        heads = [f"frame {int(numbers[t])}" for t in keys] + (["dynamic image"] if dynamics else [])
        rows = [(f"{label[d]}\n{view}", [images[d][rendered.index(t), v] for t in keys] + ([dynamics[d][v]] if dynamics else []))
                for d in domains for v, view in enumerate(views)]
    width, height = 1.9 * len(heads) + 0.4, 1.9 * len(rows) + 0.5
    title = textwrap.fill(title, width=max(30, int(width * 13)))
    fig, axes = plt.subplots(len(rows), len(heads), figsize=(width, height + 0.15 * title.count("\n")), squeeze=False)
    for r, (name, cells) in enumerate(rows):
        for c, image in enumerate(cells):
            ax = axes[r, c]
            ax.imshow(np.clip(image, 0.0, 1.0), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(heads[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(name, fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0.0, 0.0, 1.0, 1.0 - (0.25 + 0.15 * title.count("\n")) / fig.get_figheight()))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _report(written: list[Path], out: Path, summary: str) -> None:
    click.echo(f"rendered {summary}")
    if len(written) <= MAX_LISTED:
        for path in written:
            click.echo(f"wrote {path}")
    else:
        click.echo(f"wrote {len(written) - 1} PNGs to {out}/ (first {written[0].name}, last {written[-2].name})")
        click.echo(f"wrote {written[-1]}")
