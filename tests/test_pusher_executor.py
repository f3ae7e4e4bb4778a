"""The Pusher's executor itself (components/pusher): blessed models become versions, old ones wait out the grace.

The executor runs as TFX runs it, `Do(input_dict, output_dict, exec_properties)`, with the exec
properties of a VersionedPusher component as the pipeline builds them, on a local base path.
The grace is counted from a version folder's modification time (serving.versions), so the tests
set that into the past instead of sleeping.
"""

import dataclasses
import json
import os
import time
from pathlib import Path

import pytest

from harflow.config import GateConfig
from harflow.serving import versions


def saved_model(root: Path) -> Path:
    """A Model artifact's folder as the Trainer leaves it: Format-Serving/ with a (fake) SavedModel."""
    serving = root / "Format-Serving"
    (serving / "variables").mkdir(parents=True)
    (serving / "saved_model.pb").write_bytes(b"graph")
    (serving / "variables" / "variables.index").write_bytes(b"index")
    return root


def pusher_exec_properties(base: Path, gate: GateConfig) -> dict:
    """The exec properties of the pipeline's VersionedPusher (as pipeline.pipeline builds it) for `gate`."""
    from tfx.types import channel, standard_artifacts

    from harflow.components.pusher.component import VersionedPusher

    component = VersionedPusher(
        model=channel.Channel(type=standard_artifacts.Model),
        model_blessing=channel.Channel(type=standard_artifacts.ModelBlessing),
        base_directory=str(base),
        keep_versions=gate.keep_versions,
        gate_json=json.dumps(dataclasses.asdict(gate), sort_keys=True),
    )
    return dict(component.exec_properties)


def push(exec_properties: dict, model_dir: Path, output: Path, blessed: bool = True):
    """Run VersionedPushExecutor.Do once; returns the PushedModel artifact."""
    from tfx.types import standard_artifacts

    from harflow.components.pusher.executor import VersionedPushExecutor

    model = standard_artifacts.Model()
    model.uri = str(model_dir)
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(output / "blessing")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(output / "pushed")
    VersionedPushExecutor().Do({"model": [model], "model_blessing": [blessing]}, {"pushed_model": [pushed]}, exec_properties)
    return pushed


def published_ago(base: Path, version: int, seconds: float) -> None:
    """Make `version` look published `seconds` ago (the grace counts from its folder's mtime)."""
    then = time.time() - seconds
    os.utime(base / str(version), (then, then))


@pytest.fixture
def model(tmp_path):
    return saved_model(tmp_path / "model")


def test_a_version_pushed_out_stays_for_the_grace_period_then_goes(tmp_path, model):
    base = tmp_path / "serving"
    properties = pusher_exec_properties(base, GateConfig(keep_versions=1, prune_grace_s=2.0))
    push(properties, model, tmp_path / "run1")
    pushed = push(properties, model, tmp_path / "run2")  # right after the first: 1 is outside keep=1 but 2 is new
    assert versions.versions(base) == [1, 2]
    assert pushed.get_int_custom_property("pushed") == 1 and pushed.get_string_custom_property("pushed_version") == "2"
    published_ago(base, 2, 3.0)  # 2 has now been out for longer than the 2-s grace
    push(properties, model, tmp_path / "run3")
    assert versions.versions(base) == [2, 3]  # 1 went; 2 waits for 3's grace
    assert sorted(p.name for p in base.iterdir()) == ["2", "3"]  # nothing staged or half-removed is left


def test_with_no_grace_a_pushed_out_version_goes_at_once(tmp_path, model):
    base = tmp_path / "serving"
    properties = pusher_exec_properties(base, GateConfig(keep_versions=1, prune_grace_s=0.0))
    push(properties, model, tmp_path / "run1")
    push(properties, model, tmp_path / "run2")
    assert versions.versions(base) == [2]


def test_the_grace_is_the_gates_not_the_default(tmp_path, model):
    """A grace longer than the default 60 s keeps a version whose successor is 2 minutes old."""
    base = tmp_path / "serving"
    properties = pusher_exec_properties(base, GateConfig(keep_versions=1, prune_grace_s=600.0))
    push(properties, model, tmp_path / "run1")
    push(properties, model, tmp_path / "run2")
    published_ago(base, 2, 120.0)
    push(properties, model, tmp_path / "run3")
    assert versions.versions(base) == [1, 2, 3]


def test_an_unblessed_model_is_not_pushed_and_prunes_nothing(tmp_path, model):
    base = tmp_path / "serving"
    properties = pusher_exec_properties(base, GateConfig(keep_versions=1, prune_grace_s=0.0))
    push(properties, model, tmp_path / "run1")
    pushed = push(properties, model, tmp_path / "run2", blessed=False)
    assert versions.versions(base) == [1] and pushed.get_int_custom_property("pushed") == 0
