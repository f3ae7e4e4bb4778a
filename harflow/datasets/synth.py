"""The embedded default dataset: synthetic actions whose class shows only in the order of frames.

Eight classes, four pairs that are each other's time reversal:
MoveLeft/MoveRight, MoveUp/MoveDown, RotateClockwise/RotateAnticlockwise, Grow/Shrink.
Every clip draws a random shape with a "clock hand" (so rotation shows), a
shape colour that stands out from a random solid or gradient background,
static distractor blobs, a speed and per-frame pixel noise. The motion of a
class is its twin's motion run backwards, so the frames of a MoveLeft clip,
taken one at a time, look like those of a MoveRight clip: one frame cannot
tell the class; the order can.

The files follow UCF101's layout exactly, so the UCF101 reader ingests them:

    OUT/classInd.txt  OUT/trainlist01.txt  OUT/testlist01.txt      (CRLF, as UCF101 ships them)
    OUT/<Class>/v_<Class>_gNN_cNN.avi                              (MJPG)
    OUT/harflow-synth.json                                         (the config: marks the folder as ours)

Test clips use groups g01..g07 and train clips g08..g25, as in UCF101 split 1.

Why clips have an odd number of frames (33): an order-blind model (the
`average` head) sees the SET of frames ingestion samples. A MoveLeft clip is
a MoveRight clip reversed, frame i <-> frame n-1-i, so the twins show the
same set only when the sampled indices are closed under that mirror.
Ingestion samples the frame under each segment's centre
(harflow.video.sample_indices); with 32 frames and 8 samples the centres fall
on frame boundaries (2, 6, ... 30, whose mirror is 1, 5, ... 29), so a
MoveRight clip showed its start and a MoveLeft clip its end, and each shape
position set was shifted by one source frame against its twin's: something
besides the order that told the twins apart. With an odd frame count no
centre falls on a boundary, for any number of samples or segments
(`reversal_symmetric`); tests/test_synth.py states it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from harflow.config import SynthConfig
from harflow.video import segment_indices, write_video

CLASSES: tuple[str, ...] = (
    "MoveLeft",
    "MoveRight",
    "MoveUp",
    "MoveDown",
    "RotateClockwise",
    "RotateAnticlockwise",
    "Grow",
    "Shrink",
)
# the motion kinds (ModelComparison's per-category accuracy) and the twins that are each other's time reversal
MOTION_KINDS = {"Move": "translation", "Rotate": "rotation", "Grow": "scale", "Shrink": "scale"}
DIRECTION_PAIRS: tuple[str, ...] = ("MoveLeft/MoveRight", "MoveUp/MoveDown", "RotateClockwise/RotateAnticlockwise", "Grow/Shrink")
TEST_GROUPS = tuple(range(1, 8))
TRAIN_GROUPS = tuple(range(8, 26))
MARKER_FILE = "harflow-synth.json"
SHAPES = ("rectangle", "triangle", "ellipse", "star", "pentagon", "blob")

# Motion ranges, as fractions of the frame size (or degrees), wide enough to stay
# visible when a clip is sampled down to 8 frames of 64x64.
RADIUS = (0.11, 0.19)  # shape radius of the Move and Rotate classes
TRAVEL = (0.35, 0.55)  # distance a Move shape travels over the clip
TURN = (120.0, 240.0)  # degrees a Rotate shape turns over the clip
SMALL_RADIUS = (0.09, 0.11)  # smallest radius of a Grow / Shrink shape ...
GROWTH = (2.0, 2.5)  # ... times this is its largest
EDGE = 2.0  # pixels kept free between the shape and the frame's border
CONTRAST = 70.0  # least luminance difference between shape and background


def categories(class_names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """class -> motion kind when every class is a synthetic one (MoveLeft -> translation, ...); else {}."""
    kinds = {name: kind for name in class_names for prefix, kind in MOTION_KINDS.items() if name.startswith(prefix)}
    return kinds if class_names and len(kinds) == len(class_names) else {}


def reversal_symmetric(frames: int, num_frames: int, clips: int = 1) -> bool:
    """Whether ingestion's sampled indices of a `frames`-frame video are closed under i -> frames-1-i.

    When they are, a clip and its time reversal yield the same set of frames.
    True for every odd `frames`; e.g. False for 32 frames and 8 samples.
    """
    sampled = sorted(i for segment in segment_indices(frames, num_frames, clips) for i in segment)
    return sampled == sorted(frames - 1 - i for i in sampled)


@dataclass(frozen=True)
class Motion:
    """Where the shape is in every frame of a clip."""

    centre: np.ndarray  # [T, 2] float (x, y) pixels
    radius: np.ndarray  # [T] float pixels: the shape's outer radius
    angle: np.ndarray  # [T] float degrees; increasing = clockwise on screen (image y points down)


@dataclass(frozen=True)
class _Look:
    """Everything about a clip that does not move."""

    background: np.ndarray  # [S, S, 3] uint8 RGB
    colour: tuple[int, int, int]  # RGB of the shape
    hand: tuple[int, int, int]  # RGB of the clock hand drawn on the shape
    outline: np.ndarray  # [K, 2] vertices of the unit shape, pointing along +x
    hand_length: float  # of the unit shape: stays inside its outline
    noise: float  # standard deviation of the per-frame pixel noise


# --------------------------------------------------------------------------- motion


def clip_motion(class_name: str, rng: np.random.Generator, cfg: SynthConfig = SynthConfig()) -> Motion:
    """A random motion of `class_name` that keeps the shape inside the frame."""
    if class_name.startswith("Move"):
        return _move(class_name, rng, cfg)
    if class_name.startswith("Rotate"):
        return _rotate_in_place(class_name, rng, cfg)
    return _grow_or_shrink(class_name, rng, cfg)


def _move(class_name: str, rng: np.random.Generator, cfg: SynthConfig) -> Motion:
    """Straight travel along one axis; Left/Up is Right/Down run backwards."""
    n, s = cfg.frames, cfg.size
    travel = rng.uniform(*TRAVEL) * s
    radius = min(rng.uniform(*RADIUS) * s, (s - travel) / 2 - EDGE)
    low = rng.uniform(radius + EDGE, s - radius - EDGE - travel)
    path = low + travel * np.linspace(0.0, 1.0, n)  # [T] increasing
    if class_name in ("MoveLeft", "MoveUp"):
        path = path[::-1]
    along = 0 if class_name in ("MoveLeft", "MoveRight") else 1  # 0: x, 1: y
    centre = np.empty((n, 2))
    centre[:, along] = path
    centre[:, 1 - along] = rng.uniform(radius + EDGE, s - radius - EDGE)
    return Motion(centre, np.full(n, radius), np.full(n, rng.uniform(0.0, 360.0)))


def _rotate_in_place(class_name: str, rng: np.random.Generator, cfg: SynthConfig) -> Motion:
    """A steady turn about a fixed centre."""
    n, s = cfg.frames, cfg.size
    radius = rng.uniform(*RADIUS) * s
    centre = np.tile(rng.uniform(radius + EDGE, s - radius - EDGE, 2), (n, 1))
    turn = rng.uniform(*TURN) * (1 if class_name == "RotateClockwise" else -1)
    angle = rng.uniform(0.0, 360.0) + turn * np.linspace(0.0, 1.0, n)
    return Motion(centre, np.full(n, radius), angle)


def _grow_or_shrink(class_name: str, rng: np.random.Generator, cfg: SynthConfig) -> Motion:
    """Radius growing linearly by GROWTH; Shrink is Grow run backwards."""
    n, s = cfg.frames, cfg.size
    small = rng.uniform(*SMALL_RADIUS) * s
    radius = small * (1 + (rng.uniform(*GROWTH) - 1) * np.linspace(0.0, 1.0, n))  # [T] increasing
    if class_name == "Shrink":
        radius = radius[::-1]
    margin = radius.max() + EDGE
    centre = np.tile(rng.uniform(margin, s - margin, 2), (n, 1))
    return Motion(centre, radius, np.full(n, rng.uniform(0.0, 360.0)))


# --------------------------------------------------------------------------- appearance


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """Luma (0..255) of RGB values [..., 3]."""
    return rgb @ np.array([0.299, 0.587, 0.114])


def _outline(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Vertices [K, 2] of a unit shape around (0, 0) with a vertex or edge on +x, and how far +x reaches.

    Every shape is star-shaped about (0, 0), so a hand from the centre along +x stays inside.
    """
    if kind == "rectangle":
        half_width, half_height = 1.0, rng.uniform(0.45, 0.9)
        corners = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * [half_width, half_height]
        scale = np.hypot(half_width, half_height)
        return corners / scale, half_width / scale
    if kind == "ellipse":
        angles = np.linspace(0, 2 * np.pi, 32, endpoint=False)
        return np.stack([np.cos(angles), rng.uniform(0.5, 0.75) * np.sin(angles)], axis=1), 1.0
    count = {"triangle": 3, "pentagon": 5, "star": 10, "blob": 7}[kind]
    angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
    if kind == "star":
        radii = np.where(np.arange(count) % 2 == 0, 1.0, 0.5)
    elif kind == "blob":
        angles[1:] += rng.uniform(-0.3, 0.3, count - 1)
        radii = np.concatenate([[1.0], rng.uniform(0.6, 1.0, count - 1)])
    else:
        radii = np.ones(count)
    return radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1), 1.0


def _background(size: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
    """A solid colour or a gentle linear gradient, [S, S, 3] uint8, and its (min, max) luminance."""
    near = rng.uniform(0, 255, 3)
    far = near if rng.random() < 0.5 else np.clip(near + rng.uniform(-50, 50, 3), 0, 255)
    direction = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] / size
    mix = np.clip((np.cos(direction) * xs + np.sin(direction) * ys + 1) / 2, 0, 1)[..., None]  # [S, S, 1]
    image = (near * (1 - mix) + far * mix).astype(np.uint8)
    luma = _luminance(np.stack([near, far]))
    return image, (float(luma.min()), float(luma.max()))


def _add_distractors(image: np.ndarray, rng: np.random.Generator) -> None:
    """Draw 0-3 static blobs of random colours onto `image` [S, S, 3] in place."""
    size = image.shape[0]
    for _ in range(rng.integers(0, 4)):
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(image, centre, int(rng.integers(2, max(3, size // 14))), colour, -1, cv2.LINE_AA)


def _contrasting_colour(luma_range: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """A random RGB colour whose luminance is CONTRAST away from every background luminance."""
    low, high = luma_range
    for _ in range(100):
        colour = rng.integers(0, 256, 3)
        luma = _luminance(colour.astype(float))
        if luma < low - CONTRAST or luma > high + CONTRAST:
            return colour
    return np.array([0, 0, 0]) if 255 - high < low else np.array([255, 255, 255])


def _look(rng: np.random.Generator, cfg: SynthConfig) -> _Look:
    background, luma_range = _background(cfg.size, rng)
    _add_distractors(background, rng)
    colour = _contrasting_colour(luma_range, rng)
    hand = (0, 0, 0) if _luminance(colour.astype(float)) > 127 else (255, 255, 255)
    outline, reach = _outline(SHAPES[rng.integers(len(SHAPES))], rng)
    return _Look(
        background=background,
        colour=tuple(int(v) for v in colour),
        hand=hand,
        outline=outline,
        hand_length=0.8 * reach,
        noise=rng.uniform(2.0, 8.0),
    )


# --------------------------------------------------------------------------- drawing

_SHIFT = 4  # cv2 draws with 1/16 pixel precision
_ONE = 1 << _SHIFT


def _rotated(points: np.ndarray, degrees: float) -> np.ndarray:
    """Points [K, 2] turned by `degrees` about (0, 0); positive turns clockwise on screen."""
    theta = np.deg2rad(degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return points @ rotation.T


def _fixed(points: np.ndarray) -> np.ndarray:
    """Pixel coordinates -> cv2's fixed-point int32 coordinates."""
    return np.round(points * _ONE).astype(np.int32)


def _draw(look: _Look, centre: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """One noiseless frame [S, S, 3] uint8: the shape, with its hand, on the background."""
    image = look.background.copy()
    points = _rotated(look.outline * radius, angle) + centre
    cv2.fillPoly(image, [_fixed(points)], look.colour, cv2.LINE_AA, shift=_SHIFT)
    tip = _rotated(np.array([[look.hand_length * radius, 0.0]]), angle)[0] + centre
    thickness = max(1, round(0.25 * radius))
    cv2.line(image, tuple(_fixed(centre)), tuple(_fixed(tip)), look.hand, thickness, cv2.LINE_AA, shift=_SHIFT)
    return image


def render_clip(class_name: str, rng: np.random.Generator, cfg: SynthConfig = SynthConfig()) -> np.ndarray:
    """One clip of `class_name`: [cfg.frames, cfg.size, cfg.size, 3] uint8 RGB (same rng state, same clip)."""
    if class_name not in CLASSES:
        raise ValueError(f"unknown class {class_name!r}; known: {', '.join(CLASSES)}")
    look = _look(rng, cfg)
    motion = clip_motion(class_name, rng, cfg)
    frames = np.stack(
        [_draw(look, motion.centre[i], motion.radius[i], motion.angle[i]) for i in range(cfg.frames)]
    )  # [T, S, S, 3] uint8
    noise = rng.standard_normal(frames.shape, dtype=np.float32) * look.noise
    return np.clip(frames + noise, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- the dataset


def clip_name(class_name: str, group: int, number: int) -> str:
    """UCF101's relative clip path: 'MoveLeft/v_MoveLeft_g08_c01.avi'."""
    return f"{class_name}/v_{class_name}_g{group:02d}_c{number:02d}.avi"


def _plan(cfg: SynthConfig) -> list[tuple[str, str, int]]:
    """(split, clip path, clip index within class and split) for every clip; groups are filled round-robin."""
    plan = []
    for split, groups, count in (
        ("train", TRAIN_GROUPS, cfg.clips_per_class_train),
        ("test", TEST_GROUPS, cfg.clips_per_class_test),
    ):
        for class_name in CLASSES:
            for i in range(count):
                plan.append((split, clip_name(class_name, groups[i % len(groups)], i // len(groups) + 1), i))
    return plan


def _clip_rng(cfg: SynthConfig, split: str, class_name: str, index: int) -> np.random.Generator:
    """The random generator of one clip: depends on the seed and the clip only, not on the order of work."""
    return np.random.default_rng([cfg.seed, ("train", "test").index(split), CLASSES.index(class_name), index])


def _write_lists(root: Path, plan: list[tuple[str, str, int]]) -> None:
    """classInd.txt, trainlist01.txt and testlist01.txt, with CRLF line ends like UCF101's."""
    label = {name: number for number, name in enumerate(CLASSES, 1)}  # 1-based

    def write(name: str, lines: list[str]) -> None:
        (root / name).write_bytes("".join(line + "\r\n" for line in lines).encode("ascii"))

    write("classInd.txt", [f"{label[c]} {c}" for c in CLASSES])
    write("trainlist01.txt", [f"{path} {label[path.split('/')[0]]}" for split, path, _ in plan if split == "train"])
    write("testlist01.txt", [path for split, path, _ in plan if split == "test"])


def _summary(root: Path, cfg: SynthConfig) -> dict:
    return {
        "classes": list(CLASSES),
        "train_clips": cfg.clips_per_class_train * len(CLASSES),
        "test_clips": cfg.clips_per_class_test * len(CLASSES),
        "path": str(root),
        "config": dataclasses.asdict(cfg),
    }


def _existing_config(root: Path) -> dict | None:
    """The config of the synthetic dataset already in `root`; None when `root` is missing or empty.

    Raises FileExistsError when `root` holds anything else.
    """
    if not root.exists():
        return None
    if not root.is_dir():
        raise FileExistsError(f"{root}: exists and is not a folder; choose another path")
    if not any(root.iterdir()):
        return None
    marker = root / MARKER_FILE
    if not marker.is_file() or not (root / "classInd.txt").is_file():
        raise FileExistsError(f"{root}: not empty and not a harflow synthetic dataset; choose another folder")
    try:
        return json.loads(marker.read_text()).get("config", {})
    except (ValueError, AttributeError):
        return {}  # an unreadable marker of ours: make the dataset again


def _replace_dir(new: Path, root: Path) -> None:
    """Move the finished folder `new` to `root`, replacing what is there."""
    if root.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
        os.replace(root, old / root.name)
        os.replace(new, root)
        shutil.rmtree(old)
    else:
        os.replace(new, root)


def generate(
    out_dir: str | os.PathLike,
    cfg: SynthConfig = SynthConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Write the dataset into `out_dir`; returns {classes, train_clips, test_clips, path, config}.

    A folder that already holds the synthetic dataset of the same config is
    kept as is; one of another config is made again. Any other non-empty
    folder is refused (FileExistsError). The clips are written into a hidden
    sibling folder that is renamed at the end, so an interrupted run leaves
    `out_dir` untouched. progress(done, total) is called after every clip.
    """
    root = Path(out_dir)
    if _existing_config(root) == dataclasses.asdict(cfg):
        return _summary(root, cfg)
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        work.chmod(0o755)  # mkdtemp makes it private; the dataset is not
        plan = _plan(cfg)
        for done, (split, path, index) in enumerate(plan, 1):
            class_name = path.split("/")[0]
            frames = render_clip(class_name, _clip_rng(cfg, split, class_name, index), cfg)
            write_video(work / path, frames, cfg.fps)
            if progress is not None:
                progress(done, len(plan))
        _write_lists(work, plan)
        summary = _summary(root, cfg)
        marker = {key: value for key, value in summary.items() if key != "path"}  # the folder may move
        (work / MARKER_FILE).write_text(json.dumps(marker, indent=1) + "\n")
        _replace_dir(work, root)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return summary
