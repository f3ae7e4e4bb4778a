"""The main job from a fresh clone: `make demo` twice, then `harflow predict` on every test clip.

    python3 benchmarks/main_job.py --fresh-env     # also builds harflow's environment from nothing

Runs on the host's Python (standard library only), as a user would:
1. clones this repository's HEAD into a temporary folder (uncommitted changes are not measured);
2. runs `make demo` there: with --fresh-env in an empty HARFLOW_CACHE, so the environment
   (root file system or venv) is built too, as on a fresh machine;
3. runs `make demo` again --reruns times: the environment and TFX's cache are reused;
4. runs `bin/harflow predict` on every clip of the synthetic test split and counts, per class,
   the clips whose first class is the right one;
and writes the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.report import markdown_table, write_section  # noqa: E402


def timed(command: list[str], cwd: Path, env: dict[str, str], log: Path, errors: Path | None = None) -> tuple[float, str]:
    """Run `command`, teeing its output into `log` (stderr too, unless `errors` names its own file); (seconds, output)."""
    started = time.monotonic()
    with open(log, "w") as handle, open(errors or os.devnull, "w") as error_handle:
        stderr = error_handle if errors else subprocess.STDOUT
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        lines = []
        for line in process.stdout:
            handle.write(line)
            lines.append(line)
        code = process.wait()
    seconds = time.monotonic() - started
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {code}); its output is in {log}")
    return seconds, "".join(lines)


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    return match.group(1) if match else "?"


def top_classes(output: str) -> dict[str, str]:
    """`harflow predict --csv` output -> {clip path: its first class}."""
    rows = csv.DictReader(io.StringIO(output[output.index("file,"):]))
    return {row["file"]: row["class_1"] for row in rows if not row["error"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh-env", action="store_true", help="build harflow's environment in an empty cache first")
    parser.add_argument("--reruns", type=int, default=3, help="runs of `make demo` after the first (default: %(default)s)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary clone (and cache) for inspection")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="harflow-main-job-"))
    clone = scratch / "harflow"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
    env = dict(os.environ)
    if args.fresh_env:
        env["HARFLOW_CACHE"] = str(scratch / "cache")
        env["PIP_NO_CACHE_DIR"] = "1"  # download every package, as a fresh machine would
    try:
        first, output = timed(["make", "demo"], clone, env, scratch / "demo-1.log")
        accuracy_line = re.search(r"test accuracy \(TFMA, eval split, (\d+) clips\): ([0-9.]+)", output)
        environment = found(r"environment ready in (\d+) s", output)
        build_steps = re.findall(r"harflow env: (.+?): done in (\d+) s", output)
        print(f"first run: {first:.0f} s", file=sys.stderr)
        reruns = []
        for number in range(args.reruns):
            seconds, _ = timed(["make", "demo"], clone, env, scratch / f"demo-{number + 2}.log")
            reruns.append(seconds)
            print(f"rerun {number + 1}: {seconds:.0f} s", file=sys.stderr)

        data = clone / "harflow-work" / "data" / "synth"
        clips = [str(data / line.strip()) for line in (data / "testlist01.txt").read_text().splitlines() if line.strip()]
        predict_seconds, predicted = timed(["bin/harflow", "predict", "--csv", *clips], clone, env, scratch / "predict.csv", scratch / "predict.log")
        firsts = top_classes(predicted)
    finally:
        if not args.keep:
            shutil.rmtree(scratch)  # the environment's mounts never outlive a command: nothing is mounted here

    per_class: dict[str, list[int]] = {}
    for clip in clips:
        truth = Path(clip).parent.name
        per_class.setdefault(truth, []).append(int(firsts.get(clip) == truth))
    right = sum(sum(v) for v in per_class.values())
    rows = [[name, f"{sum(v)}/{len(v)}"] for name, v in sorted(per_class.items())]
    rows.append(["**all**", f"**{right}/{len(clips)} ({right / len(clips):.1%})**"])

    count, tfma = (accuracy_line.groups() if accuracy_line else ("?", "?"))
    body = "\n".join(
        [
            f"Commit {commit}; `make demo` with its defaults (8 classes, 512 train and 128 test clips).",
            "",
            markdown_table(
                ["step", "seconds"],
                [
                    [f"first `make demo` from a fresh clone{' and an empty cache (environment included)' if args.fresh_env else ' (environment already built)'}", f"{first:.0f}"],
                    *([["of which: building the environment", environment]] if args.fresh_env else []),
                    *([[f"of which: {step}", seconds] for step, seconds in build_steps] if args.fresh_env else []),
                    [f"`make demo` again: environment and TFX cache reused (median of {len(reruns)})", f"{statistics.median(reruns):.0f}" if reruns else "-"],
                    [f"`bin/harflow predict` on all {len(clips)} test clips (one command)", f"{predict_seconds:.0f}"],
                ],
            ),
            "",
            f"Test accuracy of the pushed model (TFMA, eval split, {count} clips): {tfma}. TFMA scores the",
            "JPEG frames of the TFRecords, while `harflow predict` decodes the `.avi` files again, so a clip",
            "close to a decision boundary can come out differently.",
            "",
            "`harflow predict`: clips whose first class is the right one, per class of the synthetic test split:",
            "",
            markdown_table(["class", "right first"], rows),
        ]
    )
    write_section(
        "main-job",
        "The main job (`make demo`) from a fresh clone",
        "python3 benchmarks/main_job.py" + (" --fresh-env" if args.fresh_env else ""),
        body,
    )


if __name__ == "__main__":
    main()
