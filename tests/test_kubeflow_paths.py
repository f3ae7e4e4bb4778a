"""Object storage paths in the configuration, and the runtime parameters' overrides inside the components.

A Kubeflow run's work dir, data root and serving base path are URIs (gs://, s3://);
local runs keep their local paths, made absolute.
"""

import json
from pathlib import Path

from harflow.config import IngestConfig, PipelineConfig


def test_paths_under_an_object_storage_work_dir_stay_uris():
    config = PipelineConfig(name="har", work_dir="gs://bucket/runs/")
    assert config.pipeline_root == "gs://bucket/runs/pipelines/har"
    assert config.serving_base == "gs://bucket/runs/serving/har"


def test_absolute_keeps_uris_and_resolves_local_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = PipelineConfig(work_dir="work", serving_dir="s3://models/har", ingest=IngestConfig(dataset_root="gs://bucket/ucf101"))
    absolute = config.absolute()
    assert absolute.work_dir == str(tmp_path / "work")
    assert absolute.serving_base == "s3://models/har"
    assert absolute.ingest.dataset_root == "gs://bucket/ucf101"
    assert Path(absolute.pipeline_root) == tmp_path / "work" / "pipelines" / "harflow"


def test_video_example_gen_takes_the_runtime_overrides_over_its_config():
    from harflow.components.video_example_gen.executor import ingest_config

    base = json.dumps({"dataset_root": "/data/synth", "dataset": "auto", "split": 1, "num_frames": 4})
    config = ingest_config({"ingest_config": base, "dataset_root": "gs://bucket/ucf101", "dataset": "ucf101", "split": 3})
    assert (config.dataset_root, config.dataset, config.split, config.num_frames) == ("gs://bucket/ucf101", "ucf101", 3, 4)


def test_video_example_gen_keeps_its_config_where_no_override_is_set():
    from harflow.components.video_example_gen.executor import ingest_config

    base = json.dumps({"dataset_root": "/data/synth", "dataset": "folder", "split": 2})
    config = ingest_config({"ingest_config": base, "dataset_root": None, "dataset": "", "split": None})
    assert (config.dataset_root, config.dataset, config.split) == ("/data/synth", "folder", 2)
