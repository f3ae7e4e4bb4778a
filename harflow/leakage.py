"""The leakage audit: near-duplicate clips on both sides of a split, found by perceptual signatures.

A clip's signature is five 64-bit perceptual hashes (pHash: the signs of the
lowest 8x8 DCT coefficients of a 32x32 grey image against their median) of
frames it already decoded: the first, middle and last sampled frame, and two
background estimates, the per-pixel median and mean of all sampled frames
(the median keeps the scene and drops what moves; the mean keeps the scene's
layout when a moving object covers it half the time). The distance of two
clips is the mean of three Hamming distances: median against median, mean
against mean, and the closest of their frame hashes (3 x 3 pairs); they are
near duplicates when it is within `threshold` bits. Cuts of one long video
share their background even when the action moved on; independent clips
with similar flat backgrounds (the synthetic set) rarely agree on all three.
Measured on generated data (docs/ingestion.md): siblings cut from one long
video lie within 4.7 bits, independent synthetic clips at least 8.7 bits
apart, so the default 8 bits (IngestConfig.leak_threshold) finds every
sibling and no independent synthetic clip.

    signature(frames [T, H, W, 3] uint8)   -> "hex,hex,hex,hex,hex"   (VideoExampleGen, per clip)
    audit(clips [{clip_id, split, label_name, signature}], threshold) -> report dict
    audit_index(DatasetIndex, ...)         -> the same for a dataset folder, decoding as ingestion does (`harflow data audit`)
    to_markdown(report)                    -> the table in statistics.md and `harflow data audit`

NumPy and OpenCV's resize only (no other dependency); a few microseconds
per clip on top of decoding (docs/benchmarks.md).
"""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np

from harflow.datasets.records import EVAL, TRAIN, VAL, DatasetIndex
from harflow.video import ClipError, read_clip

HASH_SIZE, IMAGE_SIZE = 8, 32  # 8x8 = 64 bits, from the DCT of a 32x32 grey image
FRAME_HASHES, BACKGROUND_HASHES = 3, 2  # first, middle, last frame; median and mean frame
TOP_PAIRS = 20  # pairs named in the report
_CROSSINGS = ((EVAL, TRAIN), (VAL, TRAIN), (EVAL, VAL))
_ROWS_PER_BLOCK = 512  # near-side clips compared at once: 512 x 10,000 float32 distances = 20 MB per matrix


def _dct_matrix(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix [size, size]: D @ x is the DCT of the column x."""
    k, n = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    matrix = np.sqrt(2.0 / size) * np.cos(np.pi * (2 * n + 1) * k / (2 * size))
    matrix[0] /= np.sqrt(2.0)
    return matrix


_DCT = _dct_matrix(IMAGE_SIZE)


def phash(image: np.ndarray) -> int:
    """[H, W, 3] or [H, W] image -> its 64-bit perceptual hash (bit set: DCT coefficient above the median)."""
    grey = image.astype(np.float32).mean(axis=2) if image.ndim == 3 else image.astype(np.float32)
    small = cv2.resize(grey, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    low = (_DCT @ small @ _DCT.T)[:HASH_SIZE, :HASH_SIZE].ravel()  # [64], low frequencies
    bits = low > np.median(low[1:])  # the DC term is left out of the median: it only says how bright
    return int(np.packbits(bits).view(">u8")[0])


def signature(frames: np.ndarray) -> str:
    """[T, H, W, 3] uint8 sampled frames -> "first,middle,last,median,mean" as 16-digit hex hashes."""
    if frames.ndim != 4 or frames.shape[0] == 0:
        raise ValueError(f"signature needs frames [T, H, W, C] with T >= 1, got shape {frames.shape}")
    picks = [frames[0], frames[len(frames) // 2], frames[-1]]
    backgrounds = [np.median(frames, axis=0), frames.mean(axis=0)]
    return ",".join(f"{phash(image):016x}" for image in picks + backgrounds)


def _bits(signatures: list[str]) -> np.ndarray:
    """Signatures -> [N, 5, 64] float32 bits (0/1)."""
    words = np.array([[int(part, 16) for part in text.split(",")] for text in signatures], dtype=np.uint64)
    words = words.reshape(len(signatures), FRAME_HASHES + BACKGROUND_HASHES)
    unpacked = np.unpackbits(words.astype(">u8").view(np.uint8).reshape(*words.shape, 8), axis=-1)
    return unpacked.astype(np.float32)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[N, 64] and [M, 64] 0/1 bits -> [N, M] Hamming distances: x.(1-y) + (1-x).y, as two matrix products."""
    return a @ (1 - b).T + (1 - a) @ b.T


def distances(left: list[str], right: list[str]) -> np.ndarray:
    """[len(left), len(right)] clip distances in bits: mean of median-median, mean-mean and the closest frame-frame distance."""
    a, b = _bits(left), _bits(right)
    closest_frames = np.full((len(left), len(right)), 64.0, dtype=np.float32)
    for i in range(FRAME_HASHES):
        for j in range(FRAME_HASHES):
            np.minimum(closest_frames, _hamming(a[:, i], b[:, j]), out=closest_frames)
    median, mean = FRAME_HASHES, FRAME_HASHES + 1
    return (_hamming(a[:, median], b[:, median]) + _hamming(a[:, mean], b[:, mean]) + closest_frames) / 3


def _one_per_video(clips: list[dict]) -> list[dict]:
    """The first segment of each video (clip_id): a video cut into several clips counts once."""
    seen, kept = set(), []
    for clip in sorted(clips, key=lambda c: (c["clip_id"], c.get("clip_index", 0))):
        if clip["clip_id"] not in seen and clip.get("signature"):
            seen.add(clip["clip_id"])
            kept.append(clip)
    return kept


def audit(clips: list[dict], threshold: float) -> dict:
    """clips: [{clip_id, split, label_name, signature}] -> near-duplicate pairs across splits and how many eval clips have a twin in train."""
    if not 0 <= threshold < 64:
        raise ValueError(f"leak threshold must be 0..63 bits of 64, not {threshold}")
    videos = _one_per_video(clips)
    by_split = {split: [c for c in videos if c["split"] == split] for split in (TRAIN, VAL, EVAL)}
    pairs, twinned = [], set()
    for near, far in _CROSSINGS:
        if not by_split[near] or not by_split[far]:
            continue
        far_signatures = [c["signature"] for c in by_split[far]]
        for start in range(0, len(by_split[near]), _ROWS_PER_BLOCK):  # bounded memory: [block, far] distances at a time
            block = by_split[near][start : start + _ROWS_PER_BLOCK]
            matrix = distances([c["signature"] for c in block], far_signatures)
            for i, j in zip(*np.nonzero(matrix <= threshold)):
                a, b = block[i], by_split[far][j]
                pairs.append({"a": a["clip_id"], "a_split": near, "b": b["clip_id"], "b_split": far,
                              "distance": round(float(matrix[i, j]), 1), "same_class": a["label_name"] == b["label_name"]})
            if (near, far) == (EVAL, TRAIN):
                twinned |= {block[i]["clip_id"] for i in np.nonzero((matrix <= threshold).any(axis=1))[0]}
    return _report(by_split, pairs, twinned, threshold)


def _report(by_split: dict, pairs: list[dict], twinned: set[str], threshold: float) -> dict:
    eval_clips = by_split[EVAL]
    per_class_total = Counter(c["label_name"] for c in eval_clips)
    per_class_twins = Counter(c["label_name"] for c in eval_clips if c["clip_id"] in twinned)
    return {
        "threshold_bits": threshold,
        "hash_bits": HASH_SIZE * HASH_SIZE,
        "videos": {split: len(members) for split, members in by_split.items()},
        "cross_split_pairs": {f"{a}-{b}": sum(1 for p in pairs if (p["a_split"], p["b_split"]) == (a, b)) for a, b in _CROSSINGS},
        "eval_with_train_twin": len(twinned),
        "eval_fraction_with_train_twin": len(twinned) / len(eval_clips) if eval_clips else 0.0,
        "per_class": {name: {"eval": per_class_total[name], "with_train_twin": per_class_twins[name]} for name in sorted(per_class_total)},
        "top_pairs": sorted(pairs, key=lambda p: (p["distance"], p["a"], p["b"]))[:TOP_PAIRS],
    }


def headline(report: dict) -> str:
    """One line: how many eval videos have a near-duplicate in train, and the threshold."""
    return (
        f"{report['eval_with_train_twin']} of {report['videos'][EVAL]} eval videos "
        f"({100 * report['eval_fraction_with_train_twin']:.1f}%) have a near-duplicate in train "
        f"(pHash within {report['threshold_bits']} of {report['hash_bits']} bits)"
    )


def to_markdown(report: dict) -> str:
    """The audit as a Markdown section: the headline, pairs per crossing, per class, the closest pairs."""
    crossings = report["cross_split_pairs"]
    lines = ["## Leakage audit", "", headline(report) + ".", "",
             "Near-duplicate pairs across splits: " + ", ".join(f"{k} {v}" for k, v in crossings.items()) + ".", ""]
    twinned = {name: row for name, row in report["per_class"].items() if row["with_train_twin"]}
    if twinned:
        lines += ["| class | eval videos | with a twin in train |", "|---|---|---|"]
        lines += [f"| {name} | {row['eval']} | {row['with_train_twin']} |" for name, row in twinned.items()]
        lines.append("")
    if report["top_pairs"]:
        lines += ["| distance | clip | split | near-duplicate | split |", "|---|---|---|---|---|"]
        lines += [f"| {p['distance']} | {p['a']} | {p['a_split']} | {p['b']} | {p['b_split']} |" for p in report["top_pairs"]]
        lines.append("")
    return "\n".join(lines)


def audit_index(index: DatasetIndex, num_frames: int, image_size: int, threshold: float, progress=None) -> dict:
    """Decode every clip of `index` as VideoExampleGen does (num_frames at image_size) and audit them; unreadable clips are counted."""
    clips, unreadable = [], []
    for done, clip in enumerate(index.clips, 1):
        try:
            frames = read_clip(clip.path, num_frames, image_size).frames  # [T, H, W, 3] uint8
        except (ClipError, OSError, cv2.error):
            unreadable.append(clip.clip_id)
            continue
        clips.append({"clip_id": clip.clip_id, "split": clip.split, "label_name": clip.label_name, "signature": signature(frames)})
        if progress:
            progress(done, len(index.clips))
    return {**audit(clips, threshold), "split_source": index.source, "unreadable": unreadable}


def leaks_too_much(report: dict, max_fraction: float) -> bool:
    """True when more than `max_fraction` of the eval videos have a near-duplicate in train (--fail-on-leak)."""
    return report["eval_fraction_with_train_twin"] > max_fraction
