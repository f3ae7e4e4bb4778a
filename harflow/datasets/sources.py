"""Where `harflow data download` fetches each dataset from, and the checksums its archives must have.

Standard library only, like harflow.datasets.download, which owns fetching and unpacking; this
module is the data: one `Archive` per file, grouped by dataset and source. A checksum is recorded
only where a party other than harflow published it, and `published_by` names where:

- UCF101's split lists and the Google Cloud Storage copy of UCF101's videos (a zip, the one
  TensorFlow Datasets and the TensorFlow video tutorials use): sha256 and size from TensorFlow
  Datasets' url_checksums/ucf101.txt, which TFDS checks every download against.
- HMDB51's two RARs: md5 only (nobody publishes a sha256): the splits' from torchvision's HMDB51
  dataset class, the videos' from DeepMind's `brave` HMDB51 downloader (MD5_OF_VIDEOS_FILE).
- UCF101.rar, UCF's own copy of the videos: nobody publishes a checksum. It is the `official`
  source; the default is the checked mirror. Without a recorded value the archive's sha256 is
  printed with a warning, and `--checksums FILE` (sha256sum's format) supplies one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TFDS_CHECKSUMS = "TensorFlow Datasets, tensorflow_datasets/url_checksums/ucf101.txt"


@dataclass(frozen=True)
class Archive:
    """One downloadable archive: its URL and, where published, its checksum ("<algorithm>:<hex>") and size."""

    url: str
    checksum: str | None = None
    size: int | None = None
    published_by: str = ""

    @property
    def name(self) -> str:
        return self.url.rsplit("/", 1)[-1]


UCF101_SPLITS = Archive(
    "https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip",
    "sha256:5c0d1a53b8ed364a2ac830a73f405e51bece7d98ce1254fd19ed4a36b224bd27",
    113_943,
    TFDS_CHECKSUMS,
)
UCF101_VIDEOS_MIRROR = Archive(
    "https://storage.googleapis.com/thumos14_files/UCF101_videos.zip",
    "sha256:dabf56f573cd19c79e096563529fec8126a2a34e18e10c72eb621dd687532b0d",
    6_960_400_115,
    TFDS_CHECKSUMS,
)
UCF101_VIDEOS_OFFICIAL = Archive("https://www.crcv.ucf.edu/data/UCF101/UCF101.rar")
HMDB51_VIDEOS = Archive(
    "https://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar",
    "md5:517d6f1f19f215c45cdd4d25356be1fb",
    published_by="DeepMind's brave, brave/download_hmdb.py (MD5_OF_VIDEOS_FILE)",
)
HMDB51_SPLITS = Archive(
    "https://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar",
    "md5:15e67781e70dcfbdce2d7dbb9b3344b5",
    published_by="torchvision, torchvision/datasets/hmdb51.py (HMDB51.splits)",
)

# dataset -> source -> its archives; each dataset's first source is the default
SOURCES: dict[str, dict[str, tuple[Archive, ...]]] = {
    "ucf101": {"mirror": (UCF101_VIDEOS_MIRROR, UCF101_SPLITS), "official": (UCF101_VIDEOS_OFFICIAL, UCF101_SPLITS)},
    "hmdb51": {"official": (HMDB51_VIDEOS, HMDB51_SPLITS)},
}
KNOWN: dict[str, Archive] = {a.name: a for sources in SOURCES.values() for archives in sources.values() for a in archives}
DIGEST_LENGTHS = {64: "sha256", 32: "md5"}


def default_source(dataset: str) -> str:
    return next(iter(SOURCES[dataset]))


def archives_of(dataset: str, source: str | None = None) -> tuple[Archive, ...]:
    """The archives `dataset` is fetched as from `source` (default: its first); ValueError naming the choices."""
    if dataset not in SOURCES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(SOURCES)}")
    choices = SOURCES[dataset]
    source = source or default_source(dataset)
    if source not in choices:
        raise ValueError(f"{dataset} has no source {source!r}; choose one of {', '.join(choices)}")
    return choices[source]


def read_checksum_file(path: Path) -> dict[str, str]:
    """`hex  name` lines (sha256sum's or md5sum's output; `*name` and blank or # lines allowed) -> name: "algorithm:hex".

    ValueError naming the file and line for anything else."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the checksum file ({error})") from None
    checksums = {}
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = re.fullmatch(r"\s*([0-9A-Fa-f]+)\s+\*?(\S.*?)\s*", line)
        if not match or len(match.group(1)) not in DIGEST_LENGTHS:
            raise ValueError(f"{path}:{number}: expected '<sha256 or md5 in hex>  <file name>', got {line.strip()[:80]!r}")
        digest, name = match.group(1).lower(), Path(match.group(2)).name
        checksums[name] = f"{DIGEST_LENGTHS[len(digest)]}:{digest}"
    return checksums
