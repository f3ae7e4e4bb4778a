"""harflow.artifacts owns every artifact format: its round trips, old files, and nobody else spelling a name."""

import ast
import json
from pathlib import Path

import pytest

from harflow import artifacts
from harflow.artifacts import ModelInfo, TrainingSummary

ROOT = Path(__file__).resolve().parent.parent
SOURCE_FOLDERS = ("harflow", "cli", "pipeline", "components", "trainer", "serving", "kubeflow", "benchmarks")
OWNED_NAMES = (
    "harflow.json",
    "harflow_training",
    "class_names.txt",
    "serving_default",
    "serving_examples",
    "Format-Serving",
    "Format-TFLite",
    "assets.extra",
)


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are module, class or function docstrings (prose, not names in use)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def spelled_outside_artifacts() -> list[str]:
    hits = []
    for folder in SOURCE_FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "harflow" / "artifacts.py":
                continue
            tree = ast.parse(path.read_text(), str(path))
            prose = docstrings(tree)
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                    hits += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in OWNED_NAMES if name in node.value]
    return hits


def test_no_source_module_but_artifacts_spells_an_artifact_name():
    assert spelled_outside_artifacts() == []


def test_the_scan_finds_a_name_where_one_is_spelled(tmp_path, monkeypatch):
    """The scan itself can fail: a module that spells a file name is found."""
    fake = tmp_path / "serving"
    fake.mkdir()
    (fake / "bad.py").write_text('"""Reads harflow.json (prose is fine)."""\nINFO = "assets.extra/harflow.json"\n')
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    monkeypatch.setattr(f"{__name__}.SOURCE_FOLDERS", ("serving",))
    assert spelled_outside_artifacts() == ["serving/bad.py:2: harflow.json", "serving/bad.py:2: assets.extra"]


def test_model_info_round_trips_and_reads_a_file_of_the_old_format(tmp_path):
    info = ModelInfo(["walk", "run"], 8, 64, "gray")
    artifacts.write_model_info(tmp_path / "saved", info)
    assert artifacts.read_model_info(tmp_path / "saved") == info
    old = tmp_path / "old" / "assets.extra"
    old.mkdir(parents=True)
    (old / "harflow.json").write_text(json.dumps({"class_names": ["a"], "num_frames": 4, "image_size": 32, "input": "..."}))
    assert artifacts.read_model_info(tmp_path / "old") == ModelInfo(["a"], 4, 32, "rgb")


def test_a_folder_without_model_info_is_one_clear_error(tmp_path):
    with pytest.raises(artifacts.NotAHarflowModel, match="not a harflow model"):
        artifacts.read_model_info(tmp_path)
    (tmp_path / "assets.extra").mkdir()
    (tmp_path / "assets.extra" / "harflow.json").write_text('{"class_names": ["a"]}')
    with pytest.raises(ValueError, match="lacks num_frames, image_size"):
        artifacts.read_model_info(tmp_path)


def test_model_class_names_reads_a_model_artifact_or_a_saved_model(tmp_path):
    artifacts.write_model_info(artifacts.serving_dir(str(tmp_path / "model")), ModelInfo(["x", "y"], 4, 32, "rgb"))
    artifacts.write_model_info(tmp_path / "saved", ModelInfo(["z"], 4, 32, "rgb"))
    assert artifacts.model_class_names(str(tmp_path / "model")) == ["x", "y"]
    assert artifacts.model_class_names(str(tmp_path / "saved")) == ["z"]
    assert artifacts.model_class_names(str(tmp_path / "nothing")) == [] and artifacts.model_class_names(None) == []


def test_class_names_round_trip_in_label_order(tmp_path):
    artifacts.write_class_names(str(tmp_path), ("Walk", "Run", "Jump"))
    assert artifacts.read_class_names(str(tmp_path)) == ["Walk", "Run", "Jump"]
    assert artifacts.examples_uri_of([str(tmp_path / "Split-train" / "*")]) == str(tmp_path)


def test_training_summary_round_trips_keeps_unknown_keys_and_reads_the_best_epoch(tmp_path):
    summary = TrainingSummary(
        variant="small+gru", train={"epochs": 3}, history={"val_loss": [0.9, 0.5, 0.7], "val_accuracy": [0.4, 0.8, 0.6]},
        epochs=[1, 2, 3], best_epoch=2, train_seconds=1.5, parameters=100, trainable_parameters=90, trunk_cache=False,
    )
    artifacts.write_training_summary(str(tmp_path), summary)
    assert artifacts.read_training_summary(str(tmp_path)) == summary
    assert summary.at_best_epoch("val_accuracy") == 0.8 and summary.at_best_epoch("accuracy") is None
    on_disk = json.loads((tmp_path / "harflow_training.json").read_text())
    (tmp_path / "harflow_training.json").write_text(json.dumps({**on_disk, "from_a_newer_harflow": 1}))
    assert artifacts.read_training_summary(str(tmp_path)).to_dict()["from_a_newer_harflow"] == 1
