"""The gate: only a model at least as good as the last blessed one reaches the serving dir.

Three runs of the real pipeline (BeamDagRunner, TFMA, MLMD in SQLite) share one
metadata store and one serving base path:

  1. a weak first model (trained on shifted labels; the floor is 0 here, so the
     first model is blessed and pushed)  -> version 1
  2. a better candidate (the true labels)  -> blessed, pushed as version 2
  3. a worse candidate (shifted labels again, another seed) -> not blessed, not
     pushed; version 2 stays what TF Serving serves

The data makes "better" and "worse" certain even for a model that trains for a
few seconds: one class has most clips in both the train and the eval lists, so
a model that learns only the class prior already scores 6/8 with the true
labels. "Shifted labels" (every train clip filed under the next class, an
honest way to train on wrong labels without touching the trainer) teach it the
wrong prior, which scores 1/8 on the true eval labels.
"""

import os
from pathlib import Path

import pytest

from harflow.config import GateConfig, IngestConfig, PipelineConfig, TrainConfig
from harflow.datasets.synth import SynthConfig, generate

CLASSES = ("MoveLeft", "Grow", "RotateClockwise")
CLIPS = {"MoveLeft": (12, 6), "Grow": (2, 1), "RotateClockwise": (2, 1)}  # (train, eval) clips per class
CATEGORIES = {"MoveLeft": "Move", "Grow": "Shape", "RotateClockwise": "Shape"}
SHIFTED = dict(zip(CLASSES, CLASSES[1:] + CLASSES[:1]))  # every clip labelled as the next class


def skewed_dataset(source: Path, out: Path, relabel: dict[str, str]) -> Path:
    """A UCF101-layout view of `source` (symlinks) with CLIPS per class; train clips filed as relabel[class]."""
    out.mkdir(parents=True)
    (out / "classInd.txt").write_text("".join(f"{i} {name}\n" for i, name in enumerate(CLASSES, 1)))
    for column, list_name in enumerate(("trainlist01.txt", "testlist01.txt")):
        kept, count = [], {}
        for clip_id in (source / list_name).read_text().split():
            if not clip_id.endswith(".avi"):
                continue
            name, file = clip_id.split("/")
            if name not in CLASSES or count.get(name, 0) >= CLIPS[name][column]:
                continue
            count[name] = count.get(name, 0) + 1
            filed = relabel.get(name, name) if list_name.startswith("train") else name
            (out / filed).mkdir(exist_ok=True)
            os.symlink(source / name / file, out / filed / file)
            kept.append(f"{filed}/{file}")
        (out / list_name).write_text("\n".join(kept) + "\n")
    return out


def config_for(work: Path, data: Path, seed: int) -> PipelineConfig:
    return PipelineConfig(
        name="gate",
        work_dir=str(work),
        beam_args=("--direct_num_workers=1", "--direct_running_mode=in_memory"),
        ingest=IngestConfig(dataset_root=str(data), num_frames=4, image_size=32, val_fraction=0.34),
        train=TrainConfig(epochs=4, batch_size=8, seed=seed),
        gate=GateConfig(min_accuracy=0.0, max_accuracy_drop=0.0, keep_versions=3, categories=CATEGORIES),
    ).absolute()


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """Runs 1-3 above; after each: (outcome, the versions in the serving dir, saved_model.pb of the newest)."""
    from harflow.pipeline.run import run_locally
    from harflow.serving.versions import versions

    work = tmp_path_factory.mktemp("gate")
    source = work / "synth"
    generate(source, SynthConfig(clips_per_class_train=12, clips_per_class_test=6, frames=16, size=48, seed=1))
    true = skewed_dataset(source, work / "true-labels", {})
    shifted = skewed_dataset(source, work / "shifted-labels", SHIFTED)
    results = []
    for data, seed in ((shifted, 0), (true, 0), (shifted, 1)):
        config = config_for(work, data, seed)
        outcome = run_locally(config)
        base = Path(config.serving_base)
        newest = base / str(versions(base)[-1]) / "saved_model.pb" if versions(base) else None
        results.append((outcome, versions(base), newest.read_bytes() if newest else None))
    return config, results


def test_the_first_model_is_pushed_as_version_1(three_runs):
    _, results = three_runs
    outcome, served, _ = results[0]
    assert outcome.blessed and outcome.pushed
    assert served == [1] and Path(outcome.pushed_to).name == "1"


def test_a_better_candidate_is_pushed_as_the_next_version(three_runs):
    _, results = three_runs
    (first, _, _), (better, served, _) = results[0], results[1]
    assert better.accuracy > first.accuracy
    assert better.blessed and better.pushed
    assert served == [1, 2] and Path(better.pushed_to).name == "2"


def test_a_worse_candidate_is_not_blessed_and_the_served_version_stays(three_runs):
    _, results = three_runs
    (better, served_before, model_before), (worse, served_after, model_after) = results[1], results[2]
    assert worse.accuracy < better.accuracy
    assert worse.blessed is False and worse.pushed is False
    assert served_after == served_before == [1, 2]
    assert model_after == model_before


def test_runs_lists_every_run_with_its_gate_decision_and_pushed_version(three_runs):
    from harflow.pipeline.run import list_runs

    config, results = three_runs
    runs = list_runs(config)
    assert [run.blessed for run in runs] == [True, True, False]
    assert [run.pushed_version for run in runs] == [1, 2, None]
    assert all(run.variants == ["small+gru"] for run in runs)
    assert [run.accuracy for run in runs] == pytest.approx([outcome.accuracy for outcome, _, _ in results])
    assert runs[0].started <= runs[1].started <= runs[2].started


def test_runs_show_renders_per_class_recall_precision_and_the_confusion_matrix(three_runs):
    from harflow.pipeline.report import evaluation_markdown
    from harflow.artifacts import model_class_names
    from harflow.pipeline.run import list_runs, read_confusion_matrix

    config, _ = three_runs
    better = list_runs(config)[1]
    names = model_class_names(better.model_uri)
    matrix = read_confusion_matrix(better.evaluation_uri, len(names))
    assert sorted(names) == sorted(CLASSES)
    assert matrix.sum() == better.example_count == 8
    assert matrix.trace() / matrix.sum() == pytest.approx(better.accuracy)
    page = evaluation_markdown(better, matrix, names)
    assert "## Per class" in page and "## Confusion matrix" in page and "version 2" in page
    assert "top-5 accuracy" in page and "## Per category" in page and "| Move | 6 |" in page
    assert "split 1 (lists: " in better.split_source and better.eval_twin_fraction is not None
    assert f"- split source: {better.split_source}" in page and "95% Wilson interval" in page
    for name in CLASSES:
        assert f"| {name} |" in page
