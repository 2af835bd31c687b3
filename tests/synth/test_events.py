"""Events and animation: profile shape, ME/macro timing and amplitude, distractors, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from mer4d.core.containers import MeshSeq
from mer4d.core.errors import DataError, UnknownNameError
from mer4d.synth.aus import closure_amplitude
from mer4d.synth.events import AMPLITUDE_MM, Distractors, Event, animate, profile, sample_event
from mer4d.synth.face import LANDMARK_NAMES, make_face
from mer4d.synth.identity import Identity

OFF = Distractors.none()


@pytest.fixture(scope="module")
def face():
    return make_face(Identity(), "quick")


def _apex_displacement(face, event, n_frames, fps=60.0):
    clip = animate(face, [event], n_frames, fps, np.random.default_rng(0), OFF)
    return float(np.linalg.norm(clip.vertices[event.apex] - face.mesh.vertices, axis=1).max())


def test_profile_shape():
    event = Event("micro", {"AU12": 1.0}, onset=5, apex=9, offset=20)
    p = profile(event, 30)
    assert p.shape == (30,) and p.min() >= 0.0 and p.max() <= 1.0
    assert np.all(p[:6] == 0) and np.all(p[20:] == 0)
    assert p[9] == 1.0 and np.argmax(p) == 9
    assert np.all(np.diff(p[5:10]) > 0) and np.all(np.diff(p[9:21]) < 0)
    assert np.all(p[6:20] > 0)


def test_profile_with_apex_at_onset_or_offset():
    p = profile(Event("macro", {"AU4": 3.0}, onset=2, apex=2, offset=8), 10)
    assert p[2] == 1.0 and p[1] == 0 and p[8] == 0 and np.all(np.diff(p[2:9]) < 0)
    q = profile(Event("macro", {"AU4": 3.0}, onset=2, apex=8, offset=8), 10)
    assert q[8] == 1.0 and q[2] == 0 and q[9] == 0 and np.all(np.diff(q[2:9]) > 0)


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0, 200.0])
def test_micro_expressions_last_under_half_a_second(fps):
    rng = np.random.default_rng(1)
    n_frames = int(fps)  # a one-second clip
    for _ in range(200):
        e = sample_event(rng, "micro", fps, n_frames, ["AU12"])
        assert 0 <= e.onset < e.apex < e.offset < n_frames
        assert (e.offset - e.onset + 1) / fps < 0.5 and e.duration_s(fps) < 0.5
        assert e.duration_s(fps) >= 0.2 - 1e-9
        assert AMPLITUDE_MM["micro"][0] <= e.aus["AU12"] <= AMPLITUDE_MM["micro"][1]


@pytest.mark.parametrize("fps", [30.0, 60.0])
def test_macro_expressions_last_half_to_four_seconds(fps):
    rng = np.random.default_rng(2)
    n_frames = int(5 * fps)
    durations = []
    for _ in range(200):
        e = sample_event(rng, "macro", fps, n_frames, ["AU6", "AU12"])
        assert 0 <= e.onset < e.apex < e.offset < n_frames
        durations.append(e.duration_s(fps))
        assert max(e.aus.values()) >= AMPLITUDE_MM["macro"][0]
    assert min(durations) >= 0.5 and max(durations) <= 4.0
    assert max(durations) - min(durations) > 2.0  # the whole range gets used


def test_events_are_cut_to_short_clips():
    rng = np.random.default_rng(3)
    for _ in range(50):
        e = sample_event(rng, "macro", 30.0, 40, ["AU4"])
        assert e.offset < 40 and e.duration_s(30.0) >= 0.5


@pytest.mark.parametrize(
    ("kind", "aus", "amplitude_range"),
    [
        ("micro", ["AU12"], None),
        ("micro", ["AU1", "AU2"], None),  # overlapping fields
        ("micro", {"L12": 1.0, "AU6": 0.5}, None),
        ("micro", ["AU4", "AU7"], (0.5, 0.6)),
        ("macro", ["AU12", "AU25"], None),
        ("macro", ["R2", "R1", "AU5"], (3.0, 4.0)),
    ],
)
def test_measured_apex_displacement_is_in_range(face, kind, aus, amplitude_range):
    low, high = amplitude_range or AMPLITUDE_MM[kind]
    rng = np.random.default_rng(4)
    fps, n_frames = 60.0, 300
    for _ in range(5):
        e = sample_event(rng, kind, fps, n_frames, aus, amplitude_range, face=face)
        assert low - 1e-4 <= _apex_displacement(face, e, n_frames, fps) <= high + 1e-4


def test_single_au_apex_displacement_is_its_amplitude_without_face(face):
    rng = np.random.default_rng(5)
    for code in ("AU12", "L2", "AU25", "R15"):
        e = sample_event(rng, "micro", 60.0, 60, [code])
        assert _apex_displacement(face, e, 60) == pytest.approx(e.aus[code], abs=1e-4)


def test_sampling_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="too short"):
        sample_event(rng, "micro", 60.0, 5, ["AU12"])
    with pytest.raises(DataError, match="too short"):
        sample_event(rng, "macro", 60.0, 20, ["AU12"])
    with pytest.raises(DataError, match="higher frame rate"):
        sample_event(rng, "micro", 5.0, 100, ["AU12"])
    with pytest.raises(DataError, match="kind"):
        sample_event(rng, "mini", 60.0, 100, ["AU12"])
    with pytest.raises(DataError, match="amplitude_range"):
        sample_event(rng, "micro", 60.0, 100, ["AU12"], (2.0, 1.0))
    with pytest.raises(UnknownNameError, match="AU12"):
        sample_event(rng, "micro", 60.0, 100, ["AU121"])
    with pytest.raises(DataError, match="non-empty"):
        sample_event(rng, "micro", 60.0, 100, [])


def test_event_validation():
    with pytest.raises(DataError, match="onset <= apex <= offset"):
        Event("micro", {"AU12": 1.0}, onset=5, apex=3, offset=9)
    with pytest.raises(DataError, match="onset < offset"):
        Event("micro", {"AU12": 1.0}, onset=5, apex=5, offset=5)
    with pytest.raises(UnknownNameError, match="did you mean"):
        Event("micro", {"AU121": 1.0}, onset=0, apex=1, offset=2)
    with pytest.raises(DataError, match=">= 0"):
        Event("micro", {"AU12": -1.0}, onset=0, apex=1, offset=2)
    with pytest.raises(DataError, match="kind"):
        Event("tiny", {"AU12": 1.0}, onset=0, apex=1, offset=2)


def test_determinism_by_seed(face):
    def run(seed):
        rng = np.random.default_rng(seed)
        events = [sample_event(rng, "micro", 30.0, 45, ["L12", "AU6"], face=face)]
        return events, animate(face, events, 45, 30.0, rng, Distractors(blink_rate_hz=2.0))

    (e1, a1), (e2, a2), (e3, a3) = run(7), run(7), run(8)
    assert e1 == e2 and np.array_equal(a1.vertices, a2.vertices) and a1.blinks == a2.blinks
    assert e1 != e3 and not np.array_equal(a1.vertices, a3.vertices)


def test_frames_outside_events_are_neutral_without_distractors(face):
    event = Event("micro", {"AU12": 1.5}, onset=10, apex=14, offset=22)
    clip = animate(face, [event], 30, 60.0, np.random.default_rng(0), OFF)
    assert clip.vertices.shape == (30, face.mesh.vertices.shape[0], 3) and clip.vertices.dtype == np.float32
    assert clip.landmarks.shape == (30, len(LANDMARK_NAMES), 3)
    for t in (*range(0, 11), *range(22, 30)):
        assert np.array_equal(clip.vertices[t], face.mesh.vertices), t
    assert not clip.blinks and np.array_equal(clip.rotation, np.broadcast_to(np.eye(3, dtype=np.float32), (30, 3, 3)))
    corner = face.landmarks["mouth_corner_left"]
    assert clip.vertices[14, corner, 1] > face.mesh.vertices[corner, 1] + 0.5


def test_one_sided_event_moves_one_side(face):
    event = Event("micro", {"R12": 1.0}, onset=0, apex=5, offset=10)
    clip = animate(face, [event], 12, 60.0, np.random.default_rng(0), OFF)
    moved = np.linalg.norm(clip.vertices[5] - face.mesh.vertices, axis=1)
    x = face.mesh.vertices[:, 0]
    assert moved[x < 0].sum() > 5 * moved[x > 0].sum()


def test_blinks_only_when_enabled(face):
    no_events: list[Event] = []
    lid = face.landmarks["upper_lid_left"]
    on = animate(face, no_events, 120, 60.0, np.random.default_rng(1), Distractors(blinks=True, blink_rate_hz=3.0, head_motion_mm=0, head_motion_deg=0, vertex_noise_mm=0))
    assert on.blinks
    for onset, apex, offset in on.blinks:
        assert 0.1 <= (offset - onset) / 60.0 <= 0.2 and onset < apex < offset
    drop = face.mesh.vertices[lid, 1] - on.vertices[:, lid, 1]
    assert drop.max() > 0.7 * closure_amplitude(face)
    mouth = [face.landmarks[n] for n in ("upper_lip", "mouth_corner_left")]
    assert np.array_equal(on.vertices[:, mouth], np.broadcast_to(face.mesh.vertices[mouth], (120, 2, 3)))
    off = animate(face, no_events, 120, 60.0, np.random.default_rng(1), OFF)
    assert not off.blinks and np.array_equal(off.vertices, np.broadcast_to(face.mesh.vertices, off.vertices.shape))


def test_blinks_never_close_lids_past_shut(face):
    full = closure_amplitude(face)
    event = Event("macro", {"AU43": full}, onset=0, apex=30, offset=59)
    busy = Distractors(blinks=True, blink_rate_hz=40.0, head_motion_mm=0, head_motion_deg=0, vertex_noise_mm=0)
    with_blinks = animate(face, [event], 60, 60.0, np.random.default_rng(2), busy)
    without = animate(face, [event], 60, 60.0, np.random.default_rng(2), OFF)
    assert with_blinks.blinks
    assert np.allclose(with_blinks.vertices[30], without.vertices[30], atol=1e-5)


def test_head_motion_only_when_enabled(face):
    moving = Distractors(blinks=False, head_motion_mm=0.5, head_motion_deg=0.5, vertex_noise_mm=0.0)
    clip = animate(face, [], 90, 30.0, np.random.default_rng(3), moving)
    v0 = face.mesh.vertices
    assert np.allclose(clip.vertices[0], v0, atol=1e-4)  # starts at the neutral pose
    assert np.abs(clip.vertices[-30:] - v0).max() > 0.1
    assert np.abs(clip.translation).max() <= 0.5 + 1e-6
    angles = np.degrees(np.arccos(np.clip((np.trace(clip.rotation, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)))
    assert angles.max() <= np.sqrt(3) * 0.5 + 1e-3
    # Rigid: distances between landmarks are kept.
    lm = clip.landmarks.astype(np.float64)
    d = np.linalg.norm(lm[:, :, None] - lm[:, None, :], axis=-1)
    assert np.abs(d - d[0]).max() < 1e-3
    # Slow: no frame-to-frame jumps beyond a fraction of a millimetre.
    assert np.abs(np.diff(clip.vertices, axis=0)).max() < 0.1
    still = animate(face, [], 90, 30.0, np.random.default_rng(3), OFF)
    assert np.array_equal(still.vertices, np.broadcast_to(v0, still.vertices.shape))


def test_sensor_noise(face):
    noisy = Distractors(blinks=False, head_motion_mm=0.0, head_motion_deg=0.0, vertex_noise_mm=0.05)
    clip = animate(face, [], 10, 30.0, np.random.default_rng(4), noisy)
    residual = clip.vertices - face.mesh.vertices
    assert residual.std() == pytest.approx(0.05, rel=0.05)
    assert np.array_equal(clip.landmarks, np.broadcast_to(face.landmark_positions(), clip.landmarks.shape))  # ground truth


def test_to_mesh_seq(face):
    clip = animate(face, [Event("micro", {"AU4": 1.0}, 1, 3, 6)], 8, 60.0, np.random.default_rng(0))
    seq = clip.to_mesh_seq(frame_numbers=np.arange(100, 108))
    assert isinstance(seq, MeshSeq) and len(seq) == 8 and seq.fps == 60.0
    assert seq.landmark_names == LANDMARK_NAMES and seq.texture is face.mesh.texture
    assert seq.frame_numbers[0] == 100


def test_animate_errors(face):
    rng = np.random.default_rng(0)
    with pytest.raises(DataError, match="outside a clip"):
        animate(face, [Event("micro", {"AU4": 1.0}, 1, 3, 12)], 10, 60.0, rng)
    with pytest.raises(DataError, match="Generator"):
        animate(face, [], 10, 60.0, 0)
    with pytest.raises(DataError, match="head_motion_mm"):
        Distractors(head_motion_mm=-1.0)
    with pytest.raises(DataError, match="n_frames"):
        animate(face, [], 0, 60.0, rng)
