"""Where a run's model comparison is: a comparison folder, or the newest one a work dir's MLMD records.

`harflow compare` prints it, and `harflow compare --rescore` scores its models again
(components/model_comparison/rescore.py).
"""

from __future__ import annotations

from pathlib import Path

from harflow.components.model_comparison.report import MARKDOWN
from harflow.config import PipelineConfig


def comparison_folder(run: str, name: str) -> str:
    """RUN: a comparison folder (it holds comparison.md), or a work dir whose MLMD names the newest comparison."""
    path = Path(run)
    if (path / MARKDOWN).is_file():
        return str(path)
    config = PipelineConfig(name=name, work_dir=str(path))
    metadata = Path(config.metadata_path)
    if not metadata.is_file():
        raise FileNotFoundError(f"{run}: neither a comparison folder ({MARKDOWN}) nor a work dir with {metadata.relative_to(path)}")
    return latest_comparison(config)


def latest_comparison(config: PipelineConfig) -> str:
    """The folder of the newest live ModelComparison artifact in `config`'s MLMD."""
    from ml_metadata.proto import metadata_store_pb2

    from harflow.components.model_comparison.component import ModelComparisonArtifact
    from harflow.pipeline.run import metadata_store

    store = metadata_store(config)
    live = [a for a in store.get_artifacts_by_type(ModelComparisonArtifact.TYPE_NAME) if a.state == metadata_store_pb2.Artifact.LIVE]
    if not live:
        raise FileNotFoundError(f"{config.metadata_path}: no model comparison recorded yet (run `harflow run` or `harflow demo` first)")
    return max(live, key=lambda a: a.id).uri
