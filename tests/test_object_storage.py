"""Artifacts on object storage: harflow.storage, the Pusher's versions and the whole pipeline on gs://.

Against a real GCS API server on loopback (tests/gcs_emulator.py: gcp-storage-emulator,
reached by TensorFlow's own GCS file system through a TLS-terminating proxy and
by Beam through STORAGE_EMULATOR_HOST), not a mock of tf.io.gfile. The clips stay
on the local file system, as they must (OpenCV reads files; docs/storage.md).
"""

import os

import pytest
from gcs_emulator import gcs_emulator
from serving_fixtures import CLASS_NAMES, export_untrained_model, write_clip

from harflow import storage


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    """gs://<bucket> on the emulator; the environment points TF, Beam and google-cloud-storage at it."""
    with gcs_emulator(tmp_path_factory.mktemp("tls")) as environment, pytest.MonkeyPatch.context() as patch:
        for key, value in environment.items():
            patch.setenv(key, value)
        yield f"gs://{environment['HARFLOW_TEST_BUCKET']}"


def test_files_and_folders_round_trip_through_gcs(bucket):
    root = f"{bucket}/roundtrip"
    storage.write_text(f"{root}/a/b.txt", "hello")
    storage.write_bytes(f"{root}/a/c/d.bin", b"\x00\x01")
    assert storage.read_text(f"{root}/a/b.txt") == "hello"
    assert storage.is_dir(f"{root}/a") and not storage.exists(f"{root}/missing.txt")
    assert storage.list_dir(f"{root}/a") == ["b.txt", "c"]
    storage.copy_tree(f"{root}/a", f"{root}/copy")
    assert storage.walk_files(f"{root}/copy") == ["b.txt", "c/d.bin"]
    storage.remove_tree(f"{root}/copy")
    assert not storage.exists(f"{root}/copy/b.txt")


def test_the_pusher_publishes_numbered_versions_on_gcs_and_prunes_old_ones(bucket, tmp_path):
    from harflow.serving import versions

    model = export_untrained_model(tmp_path / "model")
    base = f"{bucket}/serving/harflow"
    assert [versions.publish_version(str(model), base)[0] for _ in range(3)] == [1, 2, 3]
    assert versions.versions(base) == [1, 2, 3]
    assert versions.prune_versions(base, keep=2) == [1]
    assert versions.versions(base) == [2, 3]
    assert not [name for name in storage.list_dir(base) if name.startswith(versions.HIDDEN_PREFIX)]  # staging removed
    assert sorted(storage.walk_files(f"{base}/3")) == sorted(storage.walk_files(str(model)))


def test_a_version_on_gcs_gets_its_saved_model_pb_last(bucket, tmp_path, monkeypatch):
    from harflow.serving import versions

    model = export_untrained_model(tmp_path / "model")
    base = f"{bucket}/serving/order"
    copied = []
    real_copy = storage.copy_file

    def watching_copy(source, target):
        if target.startswith(f"{base}/1/"):
            copied.append(target.removeprefix(f"{base}/1/"))
        real_copy(source, target)

    monkeypatch.setattr(storage, "copy_file", watching_copy)
    versions.publish_version(str(model), base)
    assert copied[-1] == "saved_model.pb" and len(copied) == len(storage.walk_files(str(model)))


def test_the_in_process_predictor_loads_the_newest_version_from_gcs(bucket, tmp_path):
    from harflow.serving.predictor import open_predictor, predict_file

    base = f"{bucket}/serving/predict"
    from harflow.serving import versions

    versions.publish_version(str(export_untrained_model(tmp_path / "model")), base)
    predictor = open_predictor(model=base)
    assert predictor.classes == CLASS_NAMES and predictor.description.endswith(f"{base}/1")
    top = predict_file(predictor, write_clip(tmp_path / "clip.avi", seed=1), top=3)
    assert len(top) == 3 and top[0][0] in CLASS_NAMES


def test_the_whole_pipeline_runs_with_its_root_and_serving_base_on_gcs(bucket, tmp_path):
    """Ingest, train, compare, evaluate and push with every artifact on gs://; then predict from the pushed version."""
    from harflow.artifacts import read_class_names
    from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig
    from harflow.datasets.synth import CLASSES, SynthConfig, generate
    from harflow.pipeline.run import run_locally
    from harflow.serving.predictor import open_predictor, predict_file

    data = tmp_path / "data"  # the clips stay on a file system
    generate(data, SynthConfig(clips_per_class_train=6, clips_per_class_test=2, frames=16, size=48, seed=1))
    config = PipelineConfig(
        name="gcs",
        work_dir=f"{bucket}/work",
        metadata_dir=str(tmp_path / "metadata"),  # MLMD's SQLite stays local
        beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"),
        ingest=IngestConfig(dataset_root=str(data), num_frames=4, image_size=32, val_fraction=0.34),
        train=TrainConfig(epochs=1, batch_size=8, variants=("small+average",)),
        gate=GateConfig(min_accuracy=0.0),
    )
    outcome = run_locally(config)
    assert outcome.pushed and outcome.pushed_to == f"{bucket}/work/serving/gcs/1"
    examples = storage.join(config.pipeline_root, "VideoExampleGen", "examples")
    run = storage.join(examples, storage.list_dir(examples)[-1])
    assert read_class_names(run) == list(CLASSES)  # class_names.txt on gs://, not in a local folder named "gs:"
    assert any(name.endswith(".gz") for name in storage.list_dir(storage.join(run, "Split-train")))
    comparison = storage.join(config.pipeline_root, "model_comparison", "comparison")
    comparison = storage.join(comparison, storage.list_dir(comparison)[-1])
    assert {"comparison.md", "comparison.csv", "comparison.json", "curves.png"} <= set(storage.list_dir(comparison))
    assert not os.path.exists("gs:") and not os.path.exists(tmp_path / "gs:")
    predictor = open_predictor(model=config.serving_base)
    clip = data / (data / "testlist01.txt").read_text().split()[0]
    assert predict_file(predictor, clip, top=1)[0][0] in CLASSES
