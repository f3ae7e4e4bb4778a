"""Score a finished comparison run's models again on its test videos under another evaluation protocol.

    bin/harflow env run -- python -m harflow.components.model_comparison.rescore WORK_DIR OUT_DIR \
        [--name NAME] [--data DIR] [--eval-clips N]

A run's comparison scores the test videos as its ingestion cut them (`--eval-clips`).
This re-ingests the same test videos with N clips each (default 1: one clip
over the whole video; the run's dataset, the models' frames and size) and
scores every variant's SavedModel with ModelComparison's own function
(`variant_row`), writing a comparison folder (comparison.md/.csv/.json, PNGs)
to OUT_DIR. No model is trained again; training columns are the run's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dir", help="the run's work dir (or its comparison folder)")
    parser.add_argument("out_dir", help="where the new comparison is written")
    parser.add_argument("--name", default="harflow", help="the pipeline's name (default: %(default)s)")
    parser.add_argument("--data", help="the run's dataset (default: WORK_DIR/data/synth, where `harflow demo` puts it)")
    parser.add_argument("--eval-clips", type=int, default=1, metavar="N", help="clips per test video (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    import apache_beam as beam

    from harflow.datasets.detect import read_configured
    from harflow.datasets.records import EVAL
    from harflow.components.model_comparison.executor import variant_row
    from harflow.components.model_comparison.report import write_comparison
    from harflow.components.video_example_gen.beam_job import write_examples
    from harflow.cli import _comparison_folder
    from harflow.config import IngestConfig, PipelineConfig
    from harflow.trainer.export import MODEL_INFO_FILE

    folder = Path(_comparison_folder(args.work_dir, args.name))
    run = json.loads((folder / "comparison.json").read_text())
    serving = Path(run["variants"][0]["model_uri"]) / "Format-Serving"
    info = json.loads((serving / "assets.extra" / MODEL_INFO_FILE).read_text())
    ingest = IngestConfig(
        dataset_root=args.data or str(Path(args.work_dir) / "data" / "synth"),
        num_frames=info["num_frames"],
        image_size=info["image_size"],
        eval_clips_per_video=args.eval_clips,
    )
    clips = [clip for clip in read_configured(ingest).clips if clip.split == EVAL]
    with tempfile.TemporaryDirectory(prefix="harflow-rescore-") as examples:
        print(f"ingesting {len(clips)} test videos, {args.eval_clips} clip(s) each ...", flush=True)
        write_examples(beam.Pipeline(), clips, ingest, examples)
        eval_files = [str(Path(examples) / "Split-eval" / "*")]
        rows = []
        for variant in run["variants"]:
            rows.append(variant_row(variant["model_uri"], eval_files, run["class_names"], PipelineConfig()))
            print(f"{rows[-1]['variant']}: accuracy {rows[-1]['accuracy']:.3f}", flush=True)
    markdown = write_comparison(args.out_dir, rows, run["best"], run["class_names"])
    print(markdown.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
