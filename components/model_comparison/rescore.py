"""Score a finished comparison run's models again on its test videos under another evaluation protocol
(`harflow compare RUN --rescore OUT_DIR --eval-clips N`).

A run's comparison scores the test videos as its ingestion cut them (`--eval-clips`). `rescore`
re-ingests the same test videos with N clips each (1: one clip over the whole video; the models'
frames and size) and scores every variant's SavedModel with ModelComparison's own function
(`variant_row`), writing a comparison folder (comparison.md/.csv/.json, PNGs) to OUT_DIR. No model
is trained again; training columns are the run's.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Callable

from harflow.config import CompareConfig, IngestConfig


def rescore(folder: str | Path, ingest: IngestConfig, out_dir: str | Path, say: Callable[[str], None] = lambda line: None) -> Path:
    """The comparison in `folder` scored again on `ingest`'s test videos, clips cut as `ingest` says
    (its frames and size are the models'); returns the new comparison.md in `out_dir`."""
    import apache_beam as beam

    from harflow.datasets.detect import read_configured
    from harflow.datasets.records import EVAL
    from harflow.components.model_comparison.executor import variant_row
    from harflow.components.model_comparison.report import JSON, write_comparison
    from harflow.components.video_example_gen.beam_job import write_examples
    from harflow.artifacts import read_model_info, serving_dir

    run = json.loads((Path(folder) / JSON).read_text())
    info = read_model_info(serving_dir(run["variants"][0]["model_uri"]))
    ingest = dataclasses.replace(ingest, num_frames=info.num_frames, image_size=info.image_size)
    clips = [clip for clip in read_configured(ingest).clips if clip.split == EVAL]
    with tempfile.TemporaryDirectory(prefix="harflow-rescore-") as examples:
        say(f"ingesting {len(clips)} test videos, {ingest.eval_clips_per_video} clip(s) each ...")
        write_examples(beam.Pipeline(), clips, ingest, examples)
        eval_files = [str(Path(examples) / "Split-eval" / "*")]
        rows = []
        for variant in run["variants"]:
            rows.append(variant_row(variant["model_uri"], eval_files, run["class_names"], CompareConfig()))
            say(f"{rows[-1]['variant']}: accuracy {rows[-1]['accuracy']:.3f}")
    return write_comparison(out_dir, rows, run["best"], run["class_names"])
