"""Balanced sampling (--balance sample): every class drawn equally often from an imbalanced train split."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from harflow.config import TrainConfig
from harflow.trainer.data import clip_dataset, label_counts
from harflow.trainer.trunk_cache import cached_dataset
from record_fixtures import write_records


IMBALANCED = [0] * 40 + [1] * 8 + [2] * 2  # 80%, 16%, 4% of 50 clips; class 3 has none


def sampled_labels(dataset: tf.data.Dataset, epochs: int) -> list[int]:
    return [int(label) for _ in range(epochs) for _, labels in dataset for label in labels.numpy()]


def test_balanced_sampling_draws_every_class_about_equally_often(tmp_path):
    write_records(tmp_path / "train.gz", IMBALANCED)
    counts = label_counts([str(tmp_path / "*.gz")], 4)
    dataset = clip_dataset([str(tmp_path / "*.gz")], 2, 8, batch_size=10, seed=0, balance_counts=counts)
    labels = sampled_labels(dataset, epochs=6)
    assert len(labels) == 6 * 50  # an epoch still has as many clips as the split
    shares = {label: n / len(labels) for label, n in collections.Counter(labels).items()}
    assert set(shares) == {0, 1, 2}  # never the class with no clips
    assert all(abs(share - 1 / 3) < 0.06 for share in shares.values()), shares  # unbalanced: 0.80 / 0.16 / 0.04


def test_without_balancing_the_split_keeps_its_imbalance(tmp_path):
    write_records(tmp_path / "train.gz", IMBALANCED)
    labels = sampled_labels(clip_dataset([str(tmp_path / "*.gz")], 2, 8, batch_size=10, shuffle=True), epochs=1)
    assert collections.Counter(labels) == {0: 40, 1: 8, 2: 2}


def test_cached_features_are_balanced_the_same_way():
    labels = np.array(IMBALANCED)
    features = np.arange(len(labels), dtype=np.float32)[:, np.newaxis]  # feature = the clip's index
    dataset = cached_dataset(features, labels, 10, shuffle=True, seed=0, balance_counts=[40, 8, 2, 0])
    drawn = [(int(f[0]), int(label)) for _ in range(6) for batch_f, batch_l in dataset for f, label in zip(batch_f.numpy(), batch_l.numpy())]
    assert all(labels[index] == label for index, label in drawn)  # features travel with their labels
    shares = collections.Counter(label for _, label in drawn)
    assert all(abs(n / len(drawn) - 1 / 3) < 0.06 for n in shares.values()), shares


def test_class_weights_is_balance_by_weights_and_cannot_be_mixed_with_sampling():
    assert TrainConfig(class_weights=True).balance == "weights"
    assert TrainConfig(balance="sample").balance == "sample"
    with pytest.raises(ValueError, match="--balance"):
        TrainConfig(class_weights=True, balance="sample")
    with pytest.raises(ValueError, match="balance must be one of"):
        TrainConfig(balance="oversample")


def test_balance_and_tflite_options_reach_the_config_and_survive_json():
    from harflow.cli import build_parser
    from harflow.cli.options import pipeline_config
    from harflow.config import PipelineConfig

    config = pipeline_config(build_parser().parse_args(["run", "--data", "d", "--balance", "sample", "--tflite"]), dataset_root="d")
    assert config.train.balance == "sample" and config.train.tflite
    assert PipelineConfig.from_json(config.to_json()) == config
