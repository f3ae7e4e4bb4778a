"""The whole TFX pipeline on a tiny synthetic dataset: ingest, train two variants, compare, evaluate, push, predict.

Real TFX (BeamDagRunner), real Beam, real MLMD in SQLite, real TFMA; a few
clips per class and small frames, so it runs in about two minutes.
"""

from pathlib import Path

import pytest
import tensorflow as tf

from harflow import features
from harflow.artifacts import read_class_names
from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig
from harflow.datasets.synth import CLASSES, SynthConfig, generate


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """Run the pipeline once on a tiny dataset; the tests read what it left."""
    from harflow.pipeline.run import run_locally

    work = tmp_path_factory.mktemp("work")
    data = work / "data"
    generate(data, SynthConfig(clips_per_class_train=6, clips_per_class_test=2, frames=16, size=48, seed=1))
    config = PipelineConfig(
        name="tiny",
        work_dir=str(work),
        beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"),
        ingest=IngestConfig(dataset_root=str(data), num_frames=4, image_size=32, val_fraction=0.34),
        train=TrainConfig(epochs=2, batch_size=8, variants=("small+gru", "small+average")),
        gate=GateConfig(min_accuracy=0.0),  # a tiny model must still pass, to exercise the push
    )
    outcome = run_locally(config)
    return config.absolute(), outcome, data


def examples_dir(config: PipelineConfig) -> Path:
    runs = sorted((Path(config.pipeline_root) / "VideoExampleGen" / "examples").iterdir())
    return runs[-1]


def test_example_gen_writes_three_splits_of_clip_examples(finished_run):
    config, _, _ = finished_run
    examples = examples_dir(config)
    assert read_class_names(str(examples)) == list(CLASSES)
    for split in ("train", "val", "eval"):
        files = list((examples / f"Split-{split}").glob("*.gz"))
        assert files, split
    record = next(iter(tf.data.TFRecordDataset([str(p) for p in (examples / "Split-eval").glob("*.gz")], "GZIP")))
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    assert len(feature[features.FRAMES].bytes_list.value) == 4
    assert tf.io.decode_jpeg(feature[features.FRAMES].bytes_list.value[0]).shape == (32, 32, 3)
    assert feature[features.LABEL_NAME].bytes_list.value[0].decode() in read_class_names(str(examples))


def test_evaluator_measures_accuracy_on_every_eval_clip(finished_run):
    _, outcome, data = finished_run
    eval_clips = len((data / "testlist01.txt").read_text().split())
    assert outcome.example_count == eval_clips
    assert 0.0 <= outcome.accuracy <= 1.0
    assert len(outcome.accuracy_by_class) == 8


def test_a_blessed_model_is_pushed_as_a_numbered_version(finished_run):
    config, outcome, _ = finished_run
    assert outcome.blessed and outcome.pushed
    pushed = Path(outcome.pushed_to)
    assert pushed.parent == Path(config.serving_base) and pushed.name.isdigit()
    assert (pushed / "saved_model.pb").is_file()


def test_the_pushed_model_predicts_a_clip(finished_run):
    from harflow.serving.predictor import open_predictor, predict_file

    config, _, data = finished_run
    model = open_predictor(model=config.serving_base)
    clip = data / (data / "testlist01.txt").read_text().split()[0]
    top = predict_file(model, clip, top=5)
    assert len(top) == 5 and top[0][1] >= top[-1][1]
    assert {name for name, _ in top} <= set(model.classes)


def test_every_variant_is_trained_by_its_own_trainer(finished_run):
    config, _, _ = finished_run
    root = Path(config.pipeline_root)
    for trainer in ("trainer_small_gru", "trainer_small_average"):
        models = sorted((root / trainer / "model").iterdir())
        assert (models[-1] / "Format-Serving" / "saved_model.pb").is_file(), trainer


def test_the_comparison_lists_every_variant_and_the_best_is_the_candidate(finished_run):
    import csv
    import json

    config, _, _ = finished_run
    comparison = sorted((Path(config.pipeline_root) / "model_comparison" / "comparison").iterdir())[-1]
    rows = list(csv.DictReader((comparison / "comparison.csv").open()))
    assert [row["variant"] for row in rows] == ["small+gru", "small+average"]
    for row in rows:
        assert 0.0 <= float(row["accuracy"]) <= 1.0 and int(row["parameters"]) > 0 and float(row["inference_ms"]) > 0
    assert (comparison / "curves.png").stat().st_size > 0
    assert (comparison / "confusion_small_gru.png").is_file() and (comparison / "confusion_small_average.png").is_file()
    written = json.loads((comparison / "comparison.json").read_text())
    best = written["best"]
    assert written["split_source"].startswith("synthetic dataset (UCF101 layout) split 1")
    assert written["eval_fraction_with_train_twin"] == 0.0 and written["val_videos"] > 0 and written["pick_reason"]
    for row in written["variants"]:
        low, high = row["accuracy_ci"]
        assert low <= row["accuracy"] <= high and high - low > 0.1  # 16 test videos: a wide interval
    candidate = sorted((Path(config.pipeline_root) / "model_comparison" / "model").iterdir())[-1]
    assert json.loads((candidate / "harflow_training.json").read_text())["variant"] == best
    assert (candidate / "Format-Serving" / "saved_model.pb").is_file()


def test_harflow_compare_prints_the_runs_comparison(finished_run):
    import subprocess
    import sys

    config, _, _ = finished_run
    result = subprocess.run(
        [sys.executable, "-m", "harflow", "compare", config.work_dir, "--name", config.name],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| small+gru |" in result.stdout and "| small+average |" in result.stdout
    assert "Direction pairs" in result.stdout
    assert "Split source: synthetic dataset (UCF101 layout) split 1" in result.stdout
    assert "Leakage audit: 0.0% of eval videos have a near-duplicate in train" in result.stdout


def the_runs_comparison(config: PipelineConfig) -> dict:
    import json

    folder = sorted((Path(config.pipeline_root) / "model_comparison" / "comparison").iterdir())[-1]
    return json.loads((folder / "comparison.json").read_text())


def test_rescoring_a_run_under_its_own_protocol_gives_its_test_accuracies(finished_run, tmp_path):
    import json

    from harflow.cli import main

    config, _, data = finished_run
    assert main(["compare", config.work_dir, "--name", config.name, "--rescore", str(tmp_path), "--data", str(data)]) == 0
    rescored = json.loads((tmp_path / "comparison.json").read_text())
    original = the_runs_comparison(config)
    assert [row["variant"] for row in rescored["variants"]] == [row["variant"] for row in original["variants"]]
    for again, first in zip(rescored["variants"], original["variants"]):
        assert again["clips"] == first["clips"] and again["accuracy"] == pytest.approx(first["accuracy"])
        assert again["loss"] == pytest.approx(first["loss"], rel=1e-4)
    assert (tmp_path / "comparison.md").is_file() and (tmp_path / "curves.png").is_file()


def test_rescoring_with_several_clips_per_test_video_reports_video_accuracy(finished_run, tmp_path):
    import json

    from harflow.cli import main

    config, _, data = finished_run
    assert main(["compare", config.work_dir, "--name", config.name, "--rescore", str(tmp_path), "--data", str(data), "--eval-clips", "2"]) == 0
    test_videos = len((data / "testlist01.txt").read_text().split())
    for row in json.loads((tmp_path / "comparison.json").read_text())["variants"]:
        assert row["videos"] == test_videos and row["clips"] == 2 * test_videos and row["clips_per_video"] == [2, 2]
    assert "2 clips per video" in (tmp_path / "comparison.md").read_text()
