"""The optional TFDV step: StatisticsGen (small features only), SchemaGen and ExampleValidator after
VideoExampleGen, run for real with TFX's BeamDagRunner and MLMD in SQLite on a tiny folder dataset."""

from pathlib import Path

import numpy as np
import tensorflow_data_validation as tfdv

from harflow import features
from harflow.config import IngestConfig, PipelineConfig
from harflow.video import write_video


def test_tfdv_statistics_cover_the_small_features_but_not_the_frames(tmp_path):
    from tfx import v1 as tfx
    from tfx.orchestration.beam.beam_dag_runner import BeamDagRunner

    from harflow.pipeline.pipeline import ingest_components

    rng = np.random.default_rng(0)
    for cls in ("jump", "wave"):
        for g in range(1, 6):
            write_video(tmp_path / "data" / cls / f"v_{cls}_g{g:02d}_c01.avi", rng.integers(0, 255, (6, 16, 16, 3), dtype=np.uint8))
    config = PipelineConfig(
        name="tfdv",
        work_dir=str(tmp_path / "work"),
        ingest=IngestConfig(dataset_root=str(tmp_path / "data"), dataset="folder", num_frames=2, image_size=8, tfdv_statistics=True),
    ).absolute()
    components, _ = ingest_components(config)
    assert [type(c).__name__ for c in components] == ["VideoExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator"]
    Path(config.metadata_path).parent.mkdir(parents=True)
    pipeline = tfx.dsl.Pipeline(
        pipeline_name=config.name,
        pipeline_root=config.pipeline_root,
        components=components,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(config.metadata_path),
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    BeamDagRunner().run(pipeline)

    stats_file = next(Path(config.pipeline_root, "StatisticsGen", "statistics").glob("*/Split-train/FeatureStats.pb"))
    statistics = tfdv.load_stats_binary(str(stats_file))
    names = {feature.path.step[0] for feature in statistics.datasets[0].features}
    assert names == set(features.SMALL_FEATURES) and features.FRAMES not in names
    schema_file = next(Path(config.pipeline_root, "SchemaGen", "schema").glob("*/schema.pbtxt"))
    assert "label_name" in schema_file.read_text()
    assert next(Path(config.pipeline_root, "ExampleValidator", "anomalies").glob("*/Split-eval"), None) is not None
