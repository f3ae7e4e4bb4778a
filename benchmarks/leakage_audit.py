"""The leakage audit's cost: the perceptual signature per clip beside ingestion's own work, and the pair search.

    bin/harflow env run -- python benchmarks/leakage_audit.py            # 200 clips of 7 s, 320x240; 5 rounds
    bin/harflow env run -- python benchmarks/leakage_audit.py --quick    # 24 clips of 2 s, 1 round; no report

Clips: the ingest benchmark's generated MJPG AVIs (benchmarks/ingest.py,
cached in ~/.cache/harflow/bench/). Per clip and round, in one process:
- ingestion's own work: `read_clip` (8 frames of 64x64) and the Example with
  its 8 JPEG frames (beam_job._example), what VideoExampleGen does per clip;
- the signature (harflow.leakage.signature) of the frames just decoded: what
  the audit adds to ingestion.
The share is signature / (decode + encode + signature). The pair search
(harflow.leakage.audit: every eval and val clip against every train clip)
runs on random signatures (their content does not change the cost) for 1,000
clips and for UCF101 split 1's 13,320 (9,537 train, 3,783 test). Medians over rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.ingest import generate  # noqa: E402
from benchmarks.report import markdown_table, write_section  # noqa: E402

NAME = "leakage-audit"


def per_clip_seconds(paths: list[str]) -> tuple[float, float]:
    """(decode + encode seconds, signature seconds) summed over `paths`, ingestion's defaults."""
    from harflow import leakage
    from harflow.components.video_example_gen.beam_job import _example
    from harflow.config import IngestConfig
    from harflow.datasets.records import ClipRecord
    from harflow.video import read_clip

    config = IngestConfig()
    ingest = signing = 0.0
    for path in paths:
        record = ClipRecord(path=path, clip_id=Path(path).name, label=0, label_name="x", group="g", split="train")
        started = time.perf_counter()
        decoded = read_clip(path, config.num_frames, config.image_size)
        _example(record, decoded, config)
        middle = time.perf_counter()
        leakage.signature(decoded.frames)
        ingest += middle - started
        signing += time.perf_counter() - middle
    return ingest, signing


def pair_search_seconds(train: int, test: int) -> float:
    """Seconds of leakage.audit on random signatures: `test` eval clips and `train` train clips (no val)."""
    import numpy as np

    from harflow import leakage

    rng = np.random.default_rng(0)
    words = rng.integers(0, 2**63, size=(train + test, 5), dtype=np.int64)
    clips = [
        {"clip_id": f"c{i}", "split": "train" if i < train else "eval", "label_name": "x",
         "signature": ",".join(f"{int(w):016x}" for w in row)}
        for i, row in enumerate(words)
    ]
    started = time.perf_counter()
    leakage.audit(clips, threshold=8.0)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=7.0, help="clip length (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="24 clips of 2 s, 1 round, no UCF101-size search: checks the script")
    args = parser.parse_args()
    if args.quick:
        args.clips, args.seconds, args.rounds = 24, 2.0, 1
    root = generate(args.clips, args.seconds, 320, 240)
    paths = sorted(str(p) for p in root.rglob("*.avi"))
    ingest, signing, small, ucf = [], [], [], []
    for round_number in range(args.rounds):
        spent = per_clip_seconds(paths)
        ingest.append(spent[0] / len(paths) * 1000)
        signing.append(spent[1] / len(paths) * 1000)
        small.append(pair_search_seconds(700, 300))
        if not args.quick:
            ucf.append(pair_search_seconds(9537, 3783))
        print(f"round {round_number + 1}: ingest {ingest[-1]:.1f} s/1000 clips, signature {signing[-1]:.2f} s/1000 clips", file=sys.stderr)
    median = statistics.median
    share = median(signing) / (median(ingest) + median(signing))
    rows = [
        ["decode 8 frames + JPEG-encode the Example (ingestion's own work)", f"{median(ingest):.1f}", "1.00"],
        ["perceptual signature of the decoded frames (the audit's addition)", f"{median(signing):.2f}", f"{median(signing) / median(ingest):.3f}"],
        ["pair search, 1,000 clips (700 train x 300 eval)", f"{median(small):.2f}", "-"],
    ]
    if ucf:
        rows.append(["pair search, UCF101 split 1 size (9,537 train x 3,783 eval)", f"{median(ucf):.1f} (once, not per 1,000)", "-"])
    body = (
        f"{len(paths)} generated clips of {args.seconds:g} s at 320x240 (benchmarks/ingest.py's set), ingestion's defaults "
        f"(8 frames of 64x64, JPEG 90); medians of {args.rounds} rounds, one process.\n\n"
        + markdown_table(["step", "seconds per 1,000 clips", "ratio to ingestion's work"], rows)
        + f"\n\nThe signature is {100 * share:.1f}% of the per-clip ingestion time (decode + encode + signature). "
        "The pair search runs once per run, after the Beam job."
    )
    if args.quick:
        print(body)
        return
    write_section(NAME, "Leakage audit: signature and pair search", "bin/harflow env run -- python benchmarks/leakage_audit.py", body)


if __name__ == "__main__":
    main()
