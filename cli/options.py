"""The options commands share, each declared once, and the configs built from them.

An option that sets a config field has the field's name as its dest and the field's default as
its default (`field_option`): harflow/config.py is the one place a default is written, and
`config_from(Config, args)` builds a config from every parsed option named like one of its fields.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
from pathlib import Path

from harflow.config import (
    BACKBONE_NAMES,
    HEAD_NAMES,
    CompareConfig,
    GateConfig,
    IngestConfig,
    PipelineConfig,
    ServingConfig,
    SynthConfig,
    TrainConfig,
    WebConfig,
)

DATASET_LAYOUTS = ("auto", "ucf101", "hmdb51", "folder")  # IngestConfig.dataset: "auto" or harflow.datasets.detect.LAYOUTS
DIRECT_WORKERS = "--direct_num_workers="  # the Beam DirectRunner option behind --workers


EXIT_STATUS = (
    "Exit status: 0 ok; 1 the command ran but some inputs failed (some of several clips could not be read, "
    "or the model was not blessed and not pushed); 2 a usage or input error (a bad option, a missing file, "
    "a refused video given alone); 130 interrupted."
)


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, without a traceback."""


def field_option(group, config, field: str, *flags: str, help: str, **extra) -> None:
    """--FIELD (or `flags`) for `config`'s field: its dest is the field's name, its default the field's value.

    A bool field becomes a switch that turns its default around (store_true; store_false when the
    field defaults to True); a number parses as the default's type unless `extra` says otherwise.
    `default=None` in `extra` makes an option with no default (one that must be given where it is used).
    """
    default = extra.pop("default", getattr(config, field))
    if isinstance(default, bool):
        extra["action"] = "store_false" if default else "store_true"
    elif isinstance(default, (int, float)) and "type" not in extra:
        extra["type"] = type(default)
    flags = flags or ("--" + field.replace("_", "-"),)
    if not isinstance(default, bool) and "choices" not in extra:
        extra.setdefault("metavar", flags[0].lstrip("-").replace("-", "_").upper())  # --frames: FRAMES, not NUM_FRAMES
    if default is not None and not isinstance(default, bool) and "default" not in help:
        help += " (default: %(default)s)"
    group.add_argument(*flags, dest=field, default=default, help=help, **extra)


def add_command(commands, name: str, func, help: str, description: str = "") -> argparse.ArgumentParser:
    """A command `harflow NAME` that runs func(args); its --help describes it with func's docstring."""
    parser = commands.add_parser(name, help=help, description=description or inspect.cleandoc(func.__doc__), epilog=EXIT_STATUS)
    if func is not None:
        parser.set_defaults(func=func)
    return parser


def names(text: str) -> tuple[str, ...]:
    """ "a, b,c" -> ("a", "b", "c"): the type of the options that take a comma-separated list."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def config_from(kind, args: argparse.Namespace, **given):
    """A `kind` config from every parsed option whose dest is one of its fields; `given` fields win."""
    parsed = {f.name: getattr(args, f.name) for f in dataclasses.fields(kind) if hasattr(args, f.name)}
    return kind(**{**parsed, **given})


def default_workers() -> int:
    """The DirectRunner workers of PipelineConfig's default beam_args (the default of --workers)."""
    return next(int(arg.removeprefix(DIRECT_WORKERS)) for arg in PipelineConfig().beam_args if arg.startswith(DIRECT_WORKERS))


# --------------------------------------------------------------------------- where a pipeline runs


def add_work_dir(group, **extra) -> None:
    field_option(group, PipelineConfig(), "work_dir", help="the pipeline root (WORK_DIR/pipelines/NAME), ML Metadata and the default serving dir (WORK_DIR/serving/NAME)", **extra)


def add_name(group) -> None:
    field_option(group, PipelineConfig(), "name", help="pipeline name (also its name in Kubeflow)")


def add_seed(group) -> None:
    field_option(group, TrainConfig(), "seed", help="seed of the synthetic data and of training, where the command makes them")


def add_dataset(group, help: str = "dataset root folder", **extra) -> None:
    """--data, --dataset and --split: which dataset, in which layout, which official split."""
    field_option(group, IngestConfig(), "dataset_root", "--data", help=help, **extra)
    field_option(group, IngestConfig(), "dataset", choices=DATASET_LAYOUTS, help="dataset layout; auto detects it from the files (Kubeflow: the runtime parameter dataset's default)")
    field_option(group, IngestConfig(), "split", choices=[1, 2, 3], help="official split of UCF101/HMDB51")
    field_option(group, IngestConfig(), "splits_dir", "--splits", metavar="DIR", help="folder of the official split lists (ucfTrainTestlist/ or testTrainMulti_7030_splits/) when neither in --data nor beside it (default: found by itself)")


def add_beam_options(group) -> None:
    """--workers, --beam-arg, --no-cache and --serving-dir: how the pipeline runs and where it pushes."""
    group.add_argument("--workers", type=int, default=default_workers(), help="Beam DirectRunner worker processes (in a step's pod on Kubeflow) (default: %(default)s)")
    group.add_argument("--beam-arg", action="append", metavar="ARG", help="a Beam pipeline option for every Beam step, repeatable, e.g. --beam-arg=--runner=FlinkRunner (docs/ingestion.md)")
    field_option(group, PipelineConfig(), "enable_cache", "--no-cache", help="re-run every component instead of reusing TFX's cache (Kubeflow: its step cache)")
    field_option(group, PipelineConfig(), "serving_dir", metavar="URI", help="TF Serving model base path to push to, a folder or gs:// (default: WORK_DIR/serving/NAME; Kubeflow: the runtime parameter serving_base's default)")
    field_option(group, PipelineConfig(), "metadata_dir", metavar="DIR", help="local folder of ML Metadata's SQLite file, needed when --work-dir is gs:// (default: WORK_DIR/metadata)")


def add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    """Everything `harflow run` and `demo` share: where the pipeline runs, ingestion, training, the gate."""
    group = parser.add_argument_group("pipeline")
    add_work_dir(group)
    add_name(group)
    field_option(group, PipelineConfig(), "runner", choices=["beam", "local"], help="TFX BeamDagRunner or LocalDagRunner")
    add_beam_options(group)
    group.add_argument("--ingest-beam-arg", dest="ingest_beam_arg", action="append", metavar="ARG", help="a Beam option for VideoExampleGen only, after --beam-arg (it wins), repeatable, e.g. --ingest-beam-arg=--runner=apache_beam.runners.dask.dask_runner.DaskRunner (docs/ingestion.md)")
    add_model_building_options(parser)


def add_model_building_options(parser: argparse.ArgumentParser) -> None:
    add_ingest_options(parser)
    add_train_options(parser)
    add_gate_options(parser)


# --------------------------------------------------------------------------- the stages


def add_eval_clips(group) -> None:
    field_option(
        group, IngestConfig(), "eval_clips_per_video", "--eval-clips", metavar="N",
        help="clips per test video, one from each of N equal segments: the comparison then reports video-level "
        "accuracy (the clips' scores averaged) beside single-clip accuracy",
    )


def add_ingest_options(parser: argparse.ArgumentParser) -> None:
    ingest = IngestConfig()
    group = parser.add_argument_group("ingestion (VideoExampleGen)")
    field_option(group, ingest, "num_frames", "--frames", help="frames sampled per clip")
    field_option(group, ingest, "image_size", "--size", help="frame size in pixels, square")
    field_option(group, ingest, "jpeg_quality", help="JPEG quality of stored frames, 1-100")
    field_option(group, ingest, "color", choices=["rgb", "gray"], help="rgb, or gray in all 3 channels")
    field_option(group, ingest, "require_all_classes", "--allow-missing-classes", help="do not fail when a split has no clips of some class")
    field_option(group, ingest, "tfdv_statistics", help="also run TFX StatisticsGen, SchemaGen and ExampleValidator on every feature but the frames")
    add_eval_clips(group)
    field_option(
        group, ingest, "train_segments", metavar="N",
        help="cut each train and val video into N equal segments, one clip each, so that the model trains on "
        "what a test clip of --eval-clips N shows (default: %(default)s, one clip over the whole video)",
    )
    add_leak_options(parser)


def add_leak_options(parser: argparse.ArgumentParser) -> None:
    """--leak-threshold and --fail-on-leak: the leakage audit's near-duplicate distance and when it stops a run."""
    ingest = IngestConfig()
    group = parser.add_argument_group("leakage audit (near-duplicate clips across splits; docs/ingestion.md)")
    field_option(group, ingest, "leak_threshold", metavar="BITS", help="two clips are near duplicates when their perceptual signatures differ by at most BITS of 64")
    field_option(group, ingest, "fail_on_leak", metavar="FRACTION", help="stop when more than FRACTION of the eval videos have a near-duplicate in train (1.0: never)")


def add_folder_options(parser: argparse.ArgumentParser) -> None:
    ingest = IngestConfig()
    group = parser.add_argument_group("folder-per-class datasets (--dataset folder)")
    field_option(group, ingest, "groups", metavar="SOURCE", help="where a clip's group comes from: auto (sub-folder, else _gNN_ in the name), subfolder, name, or a CSV file 'clip,group'; a group never spans two splits")
    field_option(group, ingest, "test_fraction", help="share of groups for the eval split")
    field_option(group, ingest, "random_split", help="split each class's clips at random (seeded) instead of by group: only when clips are unrelated")
    field_option(group, ingest, "split_seed", help="seed of the group or random split")


def add_train_options(parser: argparse.ArgumentParser) -> None:
    train = TrainConfig()
    group = parser.add_argument_group("training (one Trainer per variant, then ModelComparison; docs/model.md)")
    field_option(group, train, "backbone", choices=BACKBONE_NAMES, help="frame CNN")
    field_option(group, train, "head", choices=HEAD_NAMES, help="over frames: GRU, LSTM or frame averaging")
    field_option(
        group, train, "variants", type=names, metavar="B+H,...",
        help="train several variants in one run and compare them, e.g. small+gru,small+lstm,mobilenet+gru "
        "(BACKBONE+HEAD; the other options apply to all); the best by val accuracy is the candidate (default: the one of --backbone and --head)",
    )
    field_option(group, train, "rnn_units", help="GRU/LSTM units")
    field_option(group, train, "bidirectional", help="bidirectional GRU/LSTM")
    field_option(group, train, "dense_stack", choices=["lean", "seed"], help="seed: the 1024-512-128-64 dense stack with dropout 0.5 before the softmax")
    field_option(group, train, "weights", choices=["imagenet", "none"], help="ImageNet backbones: pretrained or random weights")
    field_option(group, train, "weights_dir", metavar="DIR", help="a Keras cache with ImageNet weight files (DIR/models/<file>.h5, KERAS_HOME layout); default: Keras's cache, else download")
    field_option(group, train, "trainable_layers", help="how many of an ImageNet backbone's last layers fine-tune; 0 freezes it; -1: the backbone's default (mobilenet 9, resnet152v2 24, ...)")
    field_option(group, train, "alpha", help="MobileNet width multiplier")
    field_option(group, train, "backbone_size", help="resize frames to this inside the model for an ImageNet backbone; 0: as ingested")
    field_option(group, train, "cache_trunk", choices=["auto", "on", "off"], help="compute an ImageNet backbone's frozen layers once per clip and fit the rest on their cached outputs; auto: unless --augment")
    field_option(group, train, "epochs", help="at most this many epochs; early stopping may end sooner")
    field_option(group, train, "batch_size", help="clips per batch")
    field_option(group, train, "learning_rate", help="Adam's")
    field_option(group, train, "augment", type=names, metavar="A,...", help="clip-consistent augmentation, any of flip,crop,rotate,zoom (never flip on the synthetic dataset: it swaps left and right) (default: none)")
    field_option(group, train, "class_weights", help="weight the loss by inverse class frequency (the same as --balance weights)")
    field_option(group, train, "balance", choices=["none", "weights", "sample"], help="imbalanced data: weights weighs the loss by inverse class frequency; sample draws every class equally often, so each batch is even")
    field_option(group, train, "tflite", help="also write model.tflite (uint8 frames in, probabilities out) and its class names beside the SavedModel")
    field_option(group, train, "mixed_precision", choices=["auto", "on", "off"], help="mixed_float16; auto: on when a GPU is visible")
    add_seed(group)


def add_gate_options(parser: argparse.ArgumentParser) -> None:
    gate = GateConfig()
    group = parser.add_argument_group("gate and push (Evaluator, Pusher)")
    field_option(group, gate, "min_accuracy", help="the Evaluator blesses only above this eval accuracy")
    field_option(group, gate, "max_accuracy_drop", help="how far below the last blessed model's accuracy a candidate may fall and still be blessed")
    field_option(group, gate, "top_k", help="the Evaluator also reports top-k accuracy")
    field_option(group, CompareConfig(), "category_map", "--categories", metavar="JSON", help="a file {\"class\": \"category\"}: accuracy per category in the comparison and in `harflow runs show` (comparison default: UCF101's five groups, or the synthetic motion kinds)")
    field_option(group, gate, "keep_versions", help="the Pusher keeps this many newest versions in the serving dir")
    field_option(group, gate, "prune_grace_s", "--prune-grace", metavar="SECONDS", help="the Pusher removes a version past --keep-versions only once its successor has been published this long, so a reader loading it finishes")


def add_synth_options(parser: argparse.ArgumentParser) -> None:
    synth = SynthConfig()
    group = parser.add_argument_group("synthetic dataset")
    field_option(group, synth, "clips_per_class_train", "--train-clips", help="train clips per class")
    field_option(group, synth, "clips_per_class_test", "--test-clips", help="test clips per class")
    field_option(group, synth, "frames", "--synth-frames", help="frames per generated clip; odd, so that a clip and its time reversal are sampled at mirrored frames (harflow/datasets/synth.py)")
    field_option(group, synth, "size", "--synth-size", help="generated frame size in pixels")


# --------------------------------------------------------------------------- using a model


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model and --top, then where a served model is (--server, --rest, ...)."""
    parser.add_argument("--model", default=PipelineConfig().serving_base, help="SavedModel dir or TF Serving base path (newest version used) (default: %(default)s)")
    field_option(parser, WebConfig(), "top_k", "--top", help="classes shown per clip")
    serving = ServingConfig()
    group = parser.add_argument_group(
        "model server (instead of --model)",
        "Ask a running TF Serving (see docs/serving.md) instead of loading the model here; the clip is "
        "sampled here exactly as training did, with the frame count and size the server's model reports.",
    )
    group.add_argument("--server", metavar="HOST:PORT", help="TF Serving's gRPC address (PredictionService; port 8500 by default)")
    group.add_argument("--rest", metavar="URL", help="TF Serving's REST address, e.g. http://localhost:8501")
    field_option(group, serving, "model_name", help="the model's name on the server")
    field_option(group, serving, "signature", help="the signature to call")
    field_option(group, serving, "version", "--model-version", type=int, metavar="N", help="a specific model version (default: the server's newest)")
    field_option(group, serving, "timeout_s", "--timeout", help="seconds per request")


def add_window_options(group, live: bool = True) -> None:
    web = WebConfig()
    field_option(group, web, "max_clip_seconds", help="analyse only the first this-many seconds of a long clip")
    field_option(group, web, "window_seconds", help="timeline and rolling window: seconds per window, sampled to the model's frames as a training clip")
    if live:
        field_option(group, web, "step_seconds", help="--annotate/--webcam/--stream: predict again every this-many seconds")


# --------------------------------------------------------------------------- configs from the options


def pipeline_config(args: argparse.Namespace, dataset_root: str) -> PipelineConfig:
    """The PipelineConfig of `harflow run`, `demo` and `kubeflow`'s options, reading dataset_root."""
    beam_args = ["--direct_running_mode=" + ("multi_processing" if args.workers > 1 else "in_memory"), f"{DIRECT_WORKERS}{args.workers}"]
    beam_args += args.beam_arg or []  # e.g. --runner=FlinkRunner (docs/ingestion.md)
    categories = args.category_map
    return config_from(
        PipelineConfig,
        args,
        beam_args=tuple(beam_args),
        ingest_beam_args=tuple(getattr(args, "ingest_beam_arg", None) or ()),  # run/demo's; Kubeflow has its own
        ingest=config_from(IngestConfig, args, dataset_root=dataset_root),
        train=config_from(TrainConfig, args),
        gate=config_from(GateConfig, args, categories=read_categories(categories) if categories else {}),
        compare=CompareConfig(category_map=str(Path(categories).resolve()) if categories else ""),
    )


def read_categories(path: str) -> dict[str, str]:
    """A JSON file {"class name": "category", ...} -> the mapping."""
    try:
        mapping = json.loads(Path(path).read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: not JSON ({error.msg}); write {{\"ClassName\": \"Category\", ...}}") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise UsageError(f"{path}: expected one JSON object {{\"ClassName\": \"Category\", ...}}")
    return mapping
