"""The embedded default dataset: synthetic actions whose class shows only in the order of frames.

Eight classes, four pairs that are each other's time reversal:
MoveLeft/MoveRight, MoveUp/MoveDown, RotateClockwise/RotateAnticlockwise, Grow/Shrink.
Every clip draws a random shape (with an off-centre marker, so rotation shows),
colours, background, distractor blobs, speed and pixel noise; start positions,
sizes and angles are drawn so that the set of single frames of a class looks
like that of its reversed twin. One frame cannot tell the class; the order can.

The files follow UCF101's layout exactly, so the UCF101 reader ingests them:

    OUT/classInd.txt  OUT/trainlist01.txt  OUT/testlist01.txt      (CRLF, as UCF101 ships them)
    OUT/<Class>/v_<Class>_gNN_cNN.avi                              (MJPG)

Test clips use groups g01..g07 and train clips g08..g25, as in UCF101 split 1.
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

from harflow.video import write_video

CLASSES = (
    "MoveLeft",
    "MoveRight",
    "MoveUp",
    "MoveDown",
    "RotateClockwise",
    "RotateAnticlockwise",
    "Grow",
    "Shrink",
)
TEST_GROUPS = tuple(range(1, 8))
TRAIN_GROUPS = tuple(range(8, 26))
MARKER_FILE = "harflow-synth.json"
SHAPES = ("triangle", "square", "pentagon", "star", "ellipse", "blob")


@dataclass(frozen=True)
class SynthConfig:
    clips_per_class_train: int = 24
    clips_per_class_test: int = 8
    frames: int = 32
    size: int = 96  # square frames, pixels
    fps: float = 25.0
    seed: int = 0


# --------------------------------------------------------------------------- drawing


def _outline(kind: str, radius: float, rng: np.random.Generator) -> np.ndarray:
    """Vertices [K, 2] of a shape of `kind` around (0, 0), pointing along +x."""
    if kind == "star":
        angles = np.linspace(0, 2 * np.pi, 10, endpoint=False)
        radii = np.where(np.arange(10) % 2 == 0, 1.0, 0.5)
    elif kind == "ellipse":
        angles = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        ratio = rng.uniform(0.5, 0.75)
        return radius * np.stack([np.cos(angles), ratio * np.sin(angles)], axis=1)
    elif kind == "blob":
        angles = np.sort(rng.uniform(0, 2 * np.pi, 7))
        radii = rng.uniform(0.6, 1.0, 7)
    else:
        count = {"triangle": 3, "square": 4, "pentagon": 5}[kind]
        angles = np.linspace(0, 2 * np.pi, count, endpoint=False)
        radii = np.ones(count)
    return radius * radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    theta = np.deg2rad(degrees)
    rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return points @ rotation.T


def _luminance(colour: np.ndarray) -> float:
    return float(0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2])


def _background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A solid colour or a linear gradient, with 0-3 static distractor blobs; [S, S, 3] uint8."""
    first, second = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    if rng.random() < 0.5:
        second = first
    direction = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:size, 0:size] / size
    mix = np.clip((np.cos(direction) * xs + np.sin(direction) * ys + 1) / 2, 0, 1)[..., None]
    image = (first * (1 - mix) + second * mix).astype(np.uint8)
    for _ in range(rng.integers(0, 4)):
        centre = tuple(int(v) for v in rng.integers(0, size, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(image, centre, int(rng.integers(2, max(3, size // 12))), colour, -1, cv2.LINE_AA)
    return image


def _contrasting_colour(background: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    level = _luminance(background.reshape(-1, 3).mean(axis=0))
    for _ in range(100):
        colour = rng.integers(0, 256, 3)
        if abs(_luminance(colour) - level) > 80:
            return colour
    return np.array([255, 255, 255]) if level < 128 else np.array([0, 0, 0])


def _trajectory(class_name: str, cfg: SynthConfig, rng: np.random.Generator):
    """Per-frame centre [N, 2], radius [N] and angle [N] for one clip of `class_name`."""
    n, s = cfg.frames, cfg.size
    t = np.linspace(0.0, 1.0, n)
    radius = np.full(n, rng.uniform(0.11, 0.16) * s)
    angle = np.full(n, rng.uniform(0, 360))
    margin = radius[0] + 2
    centre = np.tile(rng.uniform(margin, s - margin, 2), (n, 1))

    if class_name.startswith("Move"):
        axis = 0 if class_name in ("MoveLeft", "MoveRight") else 1
        travel = rng.uniform(0.35, 0.55) * s
        start = rng.uniform(margin, s - margin - travel)  # the low end of the path
        path = start + travel * t
        forward = class_name in ("MoveRight", "MoveDown")  # image y grows downwards
        centre[:, axis] = path if forward else path[::-1]
    elif class_name.startswith("Rotate"):
        turn = rng.uniform(120, 240)
        # cv2's y axis points down, so a positive angle step turns clockwise on screen
        angle = angle[0] + turn * t * (1 if class_name == "RotateClockwise" else -1)
    else:  # Grow / Shrink: the same range of sizes, run one way or the other
        small = rng.uniform(0.06, 0.09) * s
        sizes = small * (1 + rng.uniform(0.9, 1.6) * t)
        radius = sizes if class_name == "Grow" else sizes[::-1]
        margin = radius.max() + 2
        centre = np.tile(rng.uniform(margin, s - margin, 2), (n, 1))
    return centre, radius, angle


def render_clip(class_name: str, rng: np.random.Generator, cfg: SynthConfig = SynthConfig()) -> np.ndarray:
    """One clip of `class_name`: [frames, size, size, 3] uint8 RGB."""
    if class_name not in CLASSES:
        raise ValueError(f"unknown class {class_name!r}")
    background = _background(cfg.size, rng)
    colour = tuple(int(v) for v in _contrasting_colour(background, rng))
    marker = tuple(int(255 - v) for v in colour)
    kind = SHAPES[rng.integers(len(SHAPES))]
    unit = _outline(kind, 1.0, rng)
    noise = rng.uniform(3, 10)
    centre, radius, angle = _trajectory(class_name, cfg, rng)

    frames = np.empty((cfg.frames, cfg.size, cfg.size, 3), np.uint8)
    scale = 16  # cv2 draws with sub-pixel precision at this shift
    for i in range(cfg.frames):
        image = background.copy()
        points = _rotate(unit * radius[i], angle[i]) + centre[i]
        cv2.fillPoly(image, [np.round(points * scale).astype(np.int32)], colour, cv2.LINE_AA, shift=4)
        tip = _rotate(np.array([[0.55 * radius[i], 0.0]]), angle[i])[0] + centre[i]
        cv2.circle(image, tuple(int(v) for v in np.round(tip * scale)), int(max(1.5, 0.2 * radius[i]) * scale), marker, -1, cv2.LINE_AA, shift=4)
        noisy = image.astype(np.float32) + rng.normal(0, noise, image.shape)
        frames[i] = np.clip(noisy, 0, 255).astype(np.uint8)
    return frames


# --------------------------------------------------------------------------- the dataset


def clip_name(class_name: str, group: int, number: int) -> str:
    return f"{class_name}/v_{class_name}_g{group:02d}_c{number:02d}.avi"


def _plan(cfg: SynthConfig) -> list[tuple[str, str, int]]:
    """(split, clip path, clip index) for every clip, groups assigned round-robin."""
    plan = []
    for split, groups, count in (("train", TRAIN_GROUPS, cfg.clips_per_class_train), ("test", TEST_GROUPS, cfg.clips_per_class_test)):
        for class_name in CLASSES:
            for i in range(count):
                plan.append((split, clip_name(class_name, groups[i % len(groups)], i // len(groups) + 1), i))
    return plan


def _write_lists(root: Path, plan: list[tuple[str, str, int]]) -> None:
    label = {name: number for number, name in enumerate(CLASSES, 1)}
    crlf = "\r\n"
    (root / "classInd.txt").write_bytes("".join(f"{label[c]} {c}{crlf}" for c in CLASSES).encode())
    train = "".join(f"{path} {label[path.split('/')[0]]}{crlf}" for split, path, _ in plan if split == "train")
    test = "".join(f"{path}{crlf}" for split, path, _ in plan if split == "test")
    (root / "trainlist01.txt").write_bytes(train.encode())
    (root / "testlist01.txt").write_bytes(test.encode())


def _summary(root: Path, cfg: SynthConfig) -> dict:
    return {
        "classes": list(CLASSES),
        "train_clips": cfg.clips_per_class_train * len(CLASSES),
        "test_clips": cfg.clips_per_class_test * len(CLASSES),
        "path": str(root),
        "config": dataclasses.asdict(cfg),
    }


def generate(out_dir: str | Path, cfg: SynthConfig = SynthConfig(), progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the dataset into `out_dir` (kept as is when it already holds the same one)."""
    root = Path(out_dir)
    marker = root / MARKER_FILE
    if root.exists() and any(root.iterdir()):
        if not marker.is_file():
            raise FileExistsError(f"{root}: not empty and not a harflow synthetic dataset; choose another folder")
        if json.loads(marker.read_text()).get("config") == dataclasses.asdict(cfg):
            return _summary(root, cfg)
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{root.name}.partial-", dir=root.parent))
    try:
        plan = _plan(cfg)
        for done, (split, path, i) in enumerate(plan, 1):
            class_index = CLASSES.index(path.split("/")[0])
            rng = np.random.default_rng([cfg.seed, class_index, 0 if split == "train" else 1, i])
            write_video(partial / path, render_clip(path.split("/")[0], rng, cfg), cfg.fps)
            if progress is not None:
                progress(done, len(plan))
        _write_lists(partial, plan)
        summary = _summary(root, cfg)
        (partial / MARKER_FILE).write_text(json.dumps(summary, indent=1))
        if root.exists():
            shutil.rmtree(root)  # an earlier synthetic dataset with another config
        os.replace(partial, root)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return summary
