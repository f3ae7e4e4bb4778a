"""The web app's analysis of one clip: one walk (count + decode, harflow.video.probe_and_read) vs main's two.

    bin/harflow env run -- python benchmarks/web_decode.py            # 2, 10 and 30 s clips, 5 runs each
    bin/harflow env run -- python benchmarks/web_decode.py --quick    # 2 s only, 2 runs: checks the script

Clips: random-noise MJPG AVIs, 320x240 at 25 fps (decoding dominates). The predictor is a
stand-in that returns fixed scores at once (T=8, 64x64), so the times are reading only.

- two walks (before): the header's frame count and rate, read_clip over the analysed part, then
  a second walk for the timeline's windows (clips longer than one 2 s window); a header that
  lies about its frame count changes the answer.
- one walk (serving.analysis.analyse_clip now): the frames are counted (the duration comes from
  what decodes) and the clip's and the timeline's frames are decoded in the same walk.

Variants alternate within each round; medians over rounds, as ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import markdown_table, write_section  # noqa: E402


class FixedPredictor:
    """A serving.predictor.Predictor with fixed probabilities and no model (this benchmark measures reading)."""

    num_frames, image_size, classes, description = 8, 64, ["a", "b"], "fixed probabilities"

    def predict(self, clips):
        import numpy as np

        return np.tile([0.6, 0.4], (len(clips), 1))

    def close(self) -> None:
        pass


def two_walks(path: Path, predictor, config) -> None:
    """What main did: trust the header, read_clip, then walk again for the timeline."""
    from harflow import video
    from harflow.serving.windows import frames_for, timeline, timeline_frames

    with video.VideoSource(path) as source:
        declared, fps = source.declared_frames, source.fps or config.fallback_fps
    analysed, window = min(declared, frames_for(config.max_clip_seconds, fps)), frames_for(config.window_seconds, fps)
    video.read_clip(path, predictor.num_frames, predictor.image_size, max_frames=analysed)
    if analysed > window:
        decoded = video.read_frames(path, timeline_frames(analysed, window, predictor.num_frames), predictor.image_size)
        timeline(decoded, predictor, analysed, window, fps, top=1)


def one_walk(path: Path, predictor, config) -> None:
    from harflow.serving.analysis import analyse_clip

    analyse_clip(path, predictor, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 s clip, 2 runs; does not write docs/benchmarks.md")
    args = parser.parse_args()
    import numpy as np

    from harflow.config import WebConfig
    from harflow.video import write_video

    seconds_list, runs = ((2,), 2) if args.quick else ((2, 10, 30), 5)
    rng, config, predictor = np.random.default_rng(0), WebConfig(), FixedPredictor()
    rows = []
    with tempfile.TemporaryDirectory(prefix="harflow-bench-web-decode-") as folder:
        for seconds in seconds_list:
            path = Path(folder) / f"clip-{seconds}s.avi"
            write_video(path, rng.integers(0, 256, (seconds * 25, 240, 320, 3), dtype=np.uint8), fps=25)
            times = {"two": [], "one": []}
            for _ in range(runs):
                for name, variant in (("two", two_walks), ("one", one_walk)):
                    started = time.perf_counter()
                    variant(path, predictor, config)
                    times[name].append(time.perf_counter() - started)
            two, one = statistics.median(times["two"]), statistics.median(times["one"])
            rows.append([f"{seconds} s ({seconds * 25} frames)", f"{two * 1000:.0f}", f"{one * 1000:.0f}", f"{two / one:.2f}x"])
    table = markdown_table(["clip (320x240 MJPG, 25 fps)", "two walks, ms (before)", "one walk, ms (now)", "speed-up"], rows)
    body = (
        f"{table}\n\nMedians of {runs} runs, variants alternating. One walk also counts the frames, so a clip whose "
        "header lies about its length reports the duration of what decodes; a clip of one window (no timeline) "
        "pays for counting to its end instead of stopping after the last sampled frame."
    )
    if args.quick:
        print(body)
    else:
        write_section("web-decode", "Web app: counting and decoding a clip in one walk", "bin/harflow env run -- python benchmarks/web_decode.py", body)


if __name__ == "__main__":
    main()
