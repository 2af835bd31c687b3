"""Rigid alignment of a clip to the canonical frontal pose, estimated once (on the onset) and applied to every frame.

Micro-expressions move the skin by a fraction of a millimetre; landmark detection and ICP jitter
by about as much from frame to frame. So the transform is estimated on one reference frame (the
onset, by default position 0) and the *same* transform moves every frame: residual head motion
within the clip is kept as it is, never traded for per-frame registration noise.

Two estimators:

* :func:`align_to_landmarks`: least-squares rigid fit (Kabsch; Umeyama with ``scale=True``) of the
  onset's named 3D landmarks onto a template (default :data:`~mer4d.geometry.template.CANONICAL_LANDMARKS`).
  Landmarks are matched by name, so their order in the clip does not matter.
* :func:`align_icp`: Open3D ICP (point-to-plane by default) of the onset's vertices against a
  template surface (a :class:`Mesh`, another clip's onset, or a point cloud). ICP is local: the
  clip must start within roughly 10 degrees / 10 mm of the template, or pass ``init`` (e.g. a
  landmark fit).

:func:`align_clip` picks landmarks when the clip has them and ICP otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mer4d.core.containers import Mesh, MeshSeq
from mer4d.core.errors import UnknownNameError
from mer4d.core.optional import require
from mer4d.core.registry import did_you_mean, suggest
from mer4d.core.shapes import check_shape
from mer4d.geometry.errors import GeometryError, check_number, check_onset, check_seq
from mer4d.geometry.template import ALIGNMENT_LANDMARKS, CANONICAL_LANDMARKS
from mer4d.geometry.transform import RigidTransform, fit_rigid, transform_mesh

ICP_METHODS = ("point_to_plane", "point_to_point")


def fit_to_template(landmarks: np.ndarray, landmark_names: Sequence[str], *, names: Sequence[str] = ALIGNMENT_LANDMARKS,
                    template: Mapping[str, Any] | None = None, scale: bool = False) -> RigidTransform:
    """The transform taking named landmarks onto a template, matched by name.

    Args:
        landmarks: (L, 3) positions, mm, in ``landmark_names`` order.
        landmark_names: L names.
        names: which names to fit (at least 3, not on one line); each must be in both
            ``landmark_names`` and the template. Names whose landmark is non-finite are skipped.
        template: name -> (x, y, z) mm; None means :data:`~mer4d.geometry.template.CANONICAL_LANDMARKS`.
        scale: also fit a uniform scale (Umeyama); default rigid.

    Raises:
        UnknownNameError: a name is missing from the landmarks or the template.
        GeometryError: fewer than 3 usable landmarks, or collinear ones.
    """
    sizes = check_shape(np.asarray(landmarks), "L 3", name="fit_to_template landmarks")
    landmark_names = tuple(landmark_names)
    if len(landmark_names) != sizes["L"]:
        raise GeometryError(f"fit_to_template: {sizes['L']} landmarks but {len(landmark_names)} names. Fix: pass one name per row.")
    template = CANONICAL_LANDMARKS if template is None else template
    names = tuple(names)
    _check_names(names, landmark_names, "the clip's landmarks")
    _check_names(names, tuple(template), "the template")
    position = {n: i for i, n in enumerate(landmark_names)}
    src = np.asarray(landmarks, dtype=np.float64)[[position[n] for n in names]]
    dst = np.array([np.asarray(template[n], dtype=np.float64).reshape(3) for n in names])
    usable = np.isfinite(src).all(axis=1) & np.isfinite(dst).all(axis=1)
    if usable.sum() < 3:
        raise GeometryError(f"fit_to_template: only {int(usable.sum())} of the landmarks {list(names)} are finite; need 3 or more. "
                            "Fix: name more landmarks, or align with ICP instead.")
    return fit_rigid(src[usable], dst[usable], scale=scale)


def _check_names(names: tuple[str, ...], available: tuple[str, ...], what: str) -> None:
    if len(names) < 3:
        raise GeometryError(f"fit_to_template: need at least 3 landmark names to fit a rigid transform, found {list(names)}.")
    missing = [n for n in names if n not in available]
    if missing:
        close = {m: suggest(str(m), available)[:1] for m in missing}
        hints = "; ".join(f"{m!r} (did you mean {c[0]!r}?)" if c else repr(m) for m, c in close.items())
        raise UnknownNameError(f"landmark alignment: {hints} missing from {what}. Available: {', '.join(available) or 'none'}. "
                               "Fix: pass names= a subset present in both, or a template with these names.")


def align_to_landmarks(seq: MeshSeq, *, names: Sequence[str] = ALIGNMENT_LANDMARKS, template: Mapping[str, Any] | None = None,
                       scale: bool = False, onset_index: int = 0) -> tuple[MeshSeq, RigidTransform]:
    """Fit the onset's landmarks to the template and move every frame by that one transform.

    Args:
        seq: clip with ``landmarks`` (T, L, 3) and ``landmark_names``.
        names, template, scale: as in :func:`fit_to_template`.
        onset_index: position (0-based) of the reference frame.

    Returns:
        ``(aligned clip, transform)``; vertices and landmarks of all frames are moved.
    """
    seq = check_seq(seq, "align_to_landmarks")
    onset = check_onset(seq, onset_index, "align_to_landmarks")
    if seq.landmarks is None:
        raise GeometryError("align_to_landmarks: the clip has no 3D landmarks. Fix: use align_icp against a template mesh, "
                            "or align_clip(..., template_mesh=...).")
    transform = fit_to_template(seq.landmarks[onset], seq.landmark_names, names=names, template=template, scale=scale)
    return transform_mesh(seq, transform), transform


@dataclass(frozen=True)
class IcpOptions:
    """Settings of :func:`icp`.

    Attributes:
        method: "point_to_plane" (default: converges in a few iterations on smooth skin, also
            along directions where the surface slides over itself) or "point_to_point" (needs no
            normals, but crawls along such directions (a head is nearly a surface of revolution
            about its vertical axis) and stalls: on one 3 degree / 4 mm offset of the simulator face
            it stopped 0.55 degrees off where point-to-plane came within 0.003).
        max_correspondence_mm: coarse-to-fine schedule of the largest source-target pair distance,
            one ICP run per entry. The default (10, 4, 1.5) starts wide enough for ~10 mm / 10 degree
            offsets and ends tight enough that hair, neck or shoulders missing from the template do
            not pull the fit.
        max_iterations: per stage.
        voxel_mm: downsample the source to this voxel size before matching (None = every vertex);
            1.0 mm keeps the skin's shape (curvature error ~0.01 mm) and bounds the cost on dense scans.
        normal_radius_mm: radius used to estimate target normals when the target is a bare point cloud.
        min_fitness: smallest acceptable fraction of source points matched in the last stage; below
            it :func:`icp` raises rather than return a wrong pose.
    """

    method: Literal["point_to_plane", "point_to_point"] = "point_to_plane"
    max_correspondence_mm: tuple[float, ...] = (10.0, 4.0, 1.5)
    max_iterations: int = 50
    voxel_mm: float | None = 1.0
    normal_radius_mm: float = 4.0
    min_fitness: float = 0.3

    def __post_init__(self) -> None:
        if self.method not in ICP_METHODS:
            hint = did_you_mean(str(self.method), ICP_METHODS)
            raise GeometryError(f"IcpOptions.method: expected one of {ICP_METHODS}, found {self.method!r}{hint}")
        stages = self.max_correspondence_mm
        stages = (stages,) if isinstance(stages, (int, float)) else tuple(stages)
        if not stages:
            raise GeometryError("IcpOptions.max_correspondence_mm: give at least one distance in mm, e.g. (10.0, 4.0, 1.5).")
        object.__setattr__(self, "max_correspondence_mm",
                           tuple(check_number(d, "IcpOptions.max_correspondence_mm", low=0.0, low_open=True) for d in stages))
        if isinstance(self.max_iterations, bool) or not isinstance(self.max_iterations, (int, np.integer)) or self.max_iterations < 1:
            raise GeometryError(f"IcpOptions.max_iterations: expected an integer >= 1, found {self.max_iterations!r}.")
        if self.voxel_mm is not None:
            check_number(self.voxel_mm, "IcpOptions.voxel_mm", low=0.0, low_open=True)
        check_number(self.normal_radius_mm, "IcpOptions.normal_radius_mm", low=0.0, low_open=True)
        check_number(self.min_fitness, "IcpOptions.min_fitness", low=0.0, high=1.0)


@dataclass(frozen=True)
class IcpResult:
    """Outcome of :func:`icp`.

    Attributes:
        transform: moves the source onto the target.
        fitness: fraction of (downsampled) source points with a target point within the last stage's distance.
        inlier_rmse_mm: RMS distance of those pairs (point-to-point distance, whatever the method).
    """

    transform: RigidTransform
    fitness: float
    inlier_rmse_mm: float


def icp(source: np.ndarray, target: Mesh | np.ndarray, *, init: RigidTransform | None = None,
        options: IcpOptions | None = None) -> IcpResult:
    """Register points to a target surface with Open3D ICP (rigid, float64).

    Args:
        source: (N, 3) points, mm (non-finite rows are ignored).
        target: a :class:`Mesh` (vertex normals from its faces) or (M, 3) points (normals estimated).
        init: starting transform (default identity).
        options: :class:`IcpOptions` (default settings when None).

    Returns:
        :class:`IcpResult` whose transform maps ``source`` onto ``target``.

    Raises:
        GeometryError: empty inputs, or the final fitness is below ``options.min_fitness``.
    """
    o3d = require("open3d", purpose="ICP alignment", hint="pip install open3d (and apt-get install libusb-1.0-0)")
    options = IcpOptions() if options is None else options
    if not isinstance(options, IcpOptions):
        raise GeometryError(f"icp: options must be an IcpOptions, found {type(options).__name__}.")
    init = RigidTransform.identity() if init is None else init
    if not isinstance(init, RigidTransform) or init.scale != 1.0:
        raise GeometryError(f"icp: init must be a RigidTransform with scale 1, found {init!r}. Fix: fit the landmarks with scale=False.")
    src = _finite_points(source, "N 3", "icp source", "source")
    source_pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(src))
    if options.voxel_mm is not None:
        source_pcd = source_pcd.voxel_down_sample(options.voxel_mm)
    target_pcd = _target_cloud(o3d, target, options)
    reg = o3d.pipelines.registration
    estimation = (reg.TransformationEstimationPointToPlane() if options.method == "point_to_plane"
                  else reg.TransformationEstimationPointToPoint())
    criteria = reg.ICPConvergenceCriteria(relative_fitness=1e-9, relative_rmse=1e-9, max_iteration=int(options.max_iterations))
    current, fitness, rmse = init.matrix, 0.0, 0.0
    for distance in options.max_correspondence_mm:  # IcpOptions guarantees at least one stage
        result = reg.registration_icp(source_pcd, target_pcd, distance, current, estimation, criteria)
        current, fitness, rmse = np.asarray(result.transformation), float(result.fitness), float(result.inlier_rmse)
    if fitness < options.min_fitness:
        raise GeometryError(f"icp: only {fitness:.0%} of the source points lie within {options.max_correspondence_mm[-1]} mm of the "
                            f"target after registration (need {options.min_fitness:.0%}); the start pose is probably too far off. "
                            "Fix: pass init= (e.g. from fit_to_template on landmarks), or widen IcpOptions.max_correspondence_mm.")
    transform = RigidTransform.from_matrix(current, orthonormalize=True)
    return IcpResult(transform, fitness, rmse)


def _finite_points(points: Any, spec: str, name: str, what: str) -> np.ndarray:
    """(K, 3) float64 finite rows of an (N, 3) array; at least 3 of them, for a rigid fit."""
    pts = np.asarray(points, dtype=np.float64)
    check_shape(pts, spec, name=name)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if pts.shape[0] < 3:
        raise GeometryError(f"icp: the {what} has {pts.shape[0]} finite points; need at least 3.")
    return pts


def _target_cloud(o3d: Any, target: Mesh | np.ndarray, options: IcpOptions) -> Any:
    """An Open3D point cloud with normals: a mesh's used vertices and their area-weighted normals, or estimated ones."""
    if isinstance(target, Mesh):
        faces = target.faces
        if faces.shape[0] == 0:
            raise GeometryError("icp: the target mesh has no faces. Fix: pass its vertices as an (M, 3) point cloud instead.")
        mesh = o3d.geometry.TriangleMesh(o3d.utility.Vector3dVector(np.asarray(target.vertices, dtype=np.float64)),
                                         o3d.utility.Vector3iVector(np.asarray(faces, dtype=np.int32)))
        mesh.compute_vertex_normals()
        used = np.unique(faces)
        pts, normals = np.asarray(mesh.vertices)[used], np.asarray(mesh.vertex_normals)[used]
        keep = np.isfinite(pts).all(axis=1) & np.isfinite(normals).all(axis=1)
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts[keep]))
        cloud.normals = o3d.utility.Vector3dVector(normals[keep])
        return cloud
    pts = _finite_points(target, "M 3", "icp target points", "target")
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(pts))
    if options.method == "point_to_plane":
        cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=options.normal_radius_mm, max_nn=30))
    return cloud


def align_icp(seq: MeshSeq, target: Mesh | MeshSeq | np.ndarray, *, init: RigidTransform | None = None,
              options: IcpOptions | None = None, onset_index: int = 0) -> tuple[MeshSeq, RigidTransform]:
    """ICP the onset frame onto ``target`` and move every frame by that one transform.

    Args:
        seq: clip (T, N, 3).
        target: the template surface: a :class:`Mesh`, a :class:`MeshSeq` (its frame 0, e.g. another
            clip's aligned onset), or (M, 3) points, in the frame to align to.
        init, options: as in :func:`icp`.
        onset_index: position (0-based) of the reference frame.

    Returns:
        ``(aligned clip, transform)``.
    """
    seq = check_seq(seq, "align_icp")
    onset = check_onset(seq, onset_index, "align_icp")
    if isinstance(target, MeshSeq):
        target = target.frame(0)
    used = np.unique(seq.faces) if seq.faces.shape[0] else np.arange(seq.vertices.shape[1])
    result = icp(seq.vertices[onset][used], target, init=init, options=options)
    return transform_mesh(seq, result.transform), result.transform


def align_clip(seq: MeshSeq, *, method: Literal["auto", "landmarks", "icp"] = "auto", names: Sequence[str] = ALIGNMENT_LANDMARKS,
               template: Mapping[str, Any] | None = None, template_mesh: Mesh | MeshSeq | np.ndarray | None = None,
               scale: bool = False, icp_options: IcpOptions | None = None, onset_index: int = 0) -> tuple[MeshSeq, RigidTransform]:
    """Align a clip to the canonical pose once, from its onset.

    ``method="auto"`` uses :func:`align_to_landmarks` when the clip has every name in ``names``,
    otherwise :func:`align_icp` against ``template_mesh``.

    Args:
        seq: clip (T, N, 3), optionally with 3D landmarks.
        method: "auto", "landmarks" or "icp".
        names, template, scale: landmark fit settings (see :func:`fit_to_template`); ``scale`` is
            ignored by ICP, which is rigid.
        template_mesh: ICP target in the canonical frame (a :class:`Mesh`, a :class:`MeshSeq` whose
            frame 0 is used, or (M, 3) points); needed when ICP runs.
        icp_options: :class:`IcpOptions` for ICP.
        onset_index: position (0-based) of the reference frame.

    Returns:
        ``(aligned clip, transform)``.

    Raises:
        GeometryError: an unknown method, or "auto" with neither the landmarks nor a template mesh.
    """
    seq = check_seq(seq, "align_clip")
    if method not in ("auto", "landmarks", "icp"):
        raise GeometryError(f"align_clip: method must be 'auto', 'landmarks' or 'icp', found {method!r}.")
    has_landmarks = seq.landmarks is not None and all(n in seq.landmark_names for n in names)
    if method == "landmarks" or (method == "auto" and has_landmarks):
        return align_to_landmarks(seq, names=names, template=template, scale=scale, onset_index=onset_index)
    if template_mesh is None:
        raise GeometryError(f"align_clip: no usable landmarks ({'none in the clip' if seq.landmarks is None else 'some of ' + str(list(names)) + ' missing'}) "
                            "and no template_mesh for ICP. Fix: pass template_mesh= (a Mesh in the canonical frame), or landmark names the clip has.")
    return align_icp(seq, template_mesh, options=icp_options, onset_index=onset_index)
