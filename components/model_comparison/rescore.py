"""Score a finished comparison run's models again on its test videos as ONE clip over the whole video.

    bin/harflow env run -- python -m components.model_comparison.rescore WORK_DIR OUT_DIR [--name NAME] [--data DIR]

A run made with `--eval-clips N` scores N clips per test video, each from one
segment (1/N of the video), while the models were trained on clips spread over
whole videos. This re-ingests the same test videos with one clip each (the
default protocol; the run's dataset, the models' frames and size) and scores every
variant's SavedModel with ModelComparison's own functions (`variant_row`),
writing a comparison folder (comparison.md/.csv/.json, PNGs) to OUT_DIR. No
model is trained again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--name", default="harflow")
    parser.add_argument("--data", help="the run's dataset (default: WORK_DIR/data/synth, the demo's)")
    args = parser.parse_args()

    import apache_beam as beam

    from components.datasets import EVAL, read_configured
    from components.model_comparison.executor import variant_row
    from components.model_comparison.report import write_comparison
    from components.video_example_gen.beam_job import write_examples
    from harflow.cli import _comparison_folder
    from harflow.config import IngestConfig, PipelineConfig
    from trainer.export import MODEL_INFO_FILE

    folder = Path(_comparison_folder(args.work_dir, args.name))
    run = json.loads((folder / "comparison.json").read_text())
    info = json.loads((Path(run["variants"][0]["model_uri"]) / "Format-Serving" / "assets.extra" / MODEL_INFO_FILE).read_text())
    data = args.data or str(Path(args.work_dir) / "data" / "synth")  # where `harflow demo` puts its dataset
    ingest = IngestConfig(dataset_root=data, num_frames=info["num_frames"], image_size=info["image_size"])
    clips = [clip for clip in read_configured(ingest).clips if clip.split == EVAL]
    with tempfile.TemporaryDirectory(prefix="harflow-rescore-") as examples:
        print(f"ingesting {len(clips)} test videos, one clip each ...", flush=True)
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
    sys.exit(main())
