"""The whole TFX pipeline on a tiny synthetic dataset: ingest, train, evaluate, push, predict.

Real TFX (BeamDagRunner), real Beam, real MLMD in SQLite, real TFMA; a few
clips per class and small frames, so it runs in about two minutes.
"""

from pathlib import Path

import pytest
import tensorflow as tf

from harflow import features
from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig
from harflow.synth import CLASSES, SynthConfig, generate


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """Run the pipeline once on a tiny dataset; the tests read what it left."""
    from pipeline.run import run_locally

    work = tmp_path_factory.mktemp("work")
    data = work / "data"
    generate(data, SynthConfig(clips_per_class_train=6, clips_per_class_test=2, frames=16, size=48, seed=1))
    config = PipelineConfig(
        name="tiny",
        work_dir=str(work),
        beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"),
        ingest=IngestConfig(dataset_root=str(data), num_frames=4, image_size=32, val_fraction=0.34),
        train=TrainConfig(epochs=2, batch_size=8),
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
    assert (examples / features.CLASS_NAMES_FILE).read_text().split() == list(CLASSES)
    for split in ("train", "val", "eval"):
        files = list((examples / f"Split-{split}").glob("*.gz"))
        assert files, split
    record = next(iter(tf.data.TFRecordDataset([str(p) for p in (examples / "Split-eval").glob("*.gz")], "GZIP")))
    example = tf.train.Example.FromString(record.numpy())
    feature = example.features.feature
    assert len(feature[features.FRAMES].bytes_list.value) == 4
    assert tf.io.decode_jpeg(feature[features.FRAMES].bytes_list.value[0]).shape == (32, 32, 3)
    assert feature[features.LABEL_NAME].bytes_list.value[0].decode() in (examples / features.CLASS_NAMES_FILE).read_text()


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
    from serving.predict import load_model

    config, _, data = finished_run
    model = load_model(config.serving_base)
    clip = data / (data / "testlist01.txt").read_text().split()[0]
    top = model.predict_clip(clip, top=5)
    assert len(top) == 5 and top[0][1] >= top[-1][1]
    assert {name for name, _ in top} <= set(model.class_names)
