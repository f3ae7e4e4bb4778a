"""`harflow synth`, `harflow data download`, `data stats` and `data audit`: datasets in, what ingestion saw out."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harflow import env
from harflow.cli.options import (
    DATASET_LAYOUTS,
    UsageError,
    add_command,
    add_folder_options,
    add_leak_options,
    add_seed,
    add_synth_options,
    config_from,
    field_option,
)
from harflow.cli.progress import progress
from harflow.config import IngestConfig, PipelineConfig, SynthConfig
from harflow.datasets.sources import SOURCES

DATA = """`download ucf101|hmdb51 DIR` fetches a dataset's archives (resuming partial downloads), checks
each against the size and checksum published for it (sha256 from TensorFlow Datasets for UCF101's mirror and
split lists, md5 for HMDB51's; --checksums FILE adds your own, --no-verify skips the check), unpacks them and
arranges DIR for `harflow run --data DIR`; RAR needs bsdtar, 7z, unrar or unar. Members that are links or leave
DIR are refused. `stats PATH` prints the class counts and frames per clip of an ingestion run. `audit DIR` lists
near-duplicate clips across a dataset's splits without training."""
SOURCE_HELP = (
    "where the archives come from: ucf101 'mirror' (default: the Google Cloud Storage zip TensorFlow Datasets uses, "
    "sha256 published) or 'official' (UCF's UCF101.rar, no checksum published); hmdb51 'official'"
)



def add_commands(commands) -> None:
    synth = add_command(commands, "synth", cmd_synth, "write the synthetic dataset (UCF101 layout)")
    synth.add_argument("out", help="output folder (created; must be empty or an earlier synthetic dataset)")
    add_synth_options(synth)
    add_seed(synth)
    data = add_command(commands, "data", None, "download UCF101 or HMDB51; show ingestion statistics; audit for leakage", description=DATA)
    verbs = data.add_subparsers(dest="verb", metavar="VERB", required=True)
    fetch = add_command(verbs, "download", cmd_data_download, "fetch, unpack and arrange a dataset")
    fetch.add_argument("dataset", choices=sorted(SOURCES))
    fetch.add_argument("dir", metavar="DIR", help="where the dataset goes")
    fetch.add_argument("--archive", action="append", metavar="FILE", help="use this archive already on disk instead of downloading (repeat for the videos and the split files)")
    fetch.add_argument("--source", choices=sorted({s for sources in SOURCES.values() for s in sources}), help=SOURCE_HELP)
    fetch.add_argument("--checksums", metavar="FILE", help="sha256sum/md5sum output ('<hex>  <archive name>' lines) to check the archives against, in addition to (and before) the published checksums")
    fetch.add_argument("--no-verify", dest="verify", action="store_false", help="skip the size and checksum check of the archives (check them by hand)")
    stats = add_command(verbs, "stats", cmd_data_stats, "print an ingestion run's statistics")
    stats.add_argument("path", nargs="?", default=PipelineConfig().work_dir, help="Examples folder or work dir (default: %(default)s)")
    audit = add_command(verbs, "audit", cmd_data_audit, "near-duplicate clips across a dataset's splits, without training")
    audit.add_argument("dataset_root", metavar="DIR", help="dataset folder (any layout `harflow run` reads)")
    add_audit_options(audit)


def add_audit_options(audit: argparse.ArgumentParser) -> None:
    """The reader's options (layout, split, lists, folder splitting), the frames ingestion samples, the audit's own.
    DIR is positional here, so --data, --dataset and --split are declared one by one rather than by add_dataset."""
    group = audit.add_argument_group("dataset")
    ingest = IngestConfig()
    field_option(group, ingest, "dataset", choices=DATASET_LAYOUTS, help="dataset layout; auto detects it from the files")
    field_option(group, ingest, "split", choices=[1, 2, 3], help="official split of UCF101/HMDB51")
    field_option(group, ingest, "splits_dir", "--splits", metavar="DIR", help="folder of the official split lists, when neither in DIR nor beside it (default: found by itself)")
    field_option(group, ingest, "num_frames", "--frames", help="frames sampled per clip, as ingestion")
    field_option(group, ingest, "image_size", "--size", help="frame size in pixels, as ingestion")
    group.add_argument("--json", default=str(Path(PipelineConfig().work_dir) / "leakage-audit.json"), metavar="FILE", help="where the report goes (default: %(default)s)")
    add_folder_options(audit)
    add_leak_options(audit)


def cmd_synth(args: argparse.Namespace) -> int:
    """Write a deterministic synthetic action dataset in UCF101's layout: 8 classes whose label shows only
    in the order of frames (moving left/right/up/down, rotating either way, growing, shrinking)."""
    from harflow.datasets import synth

    summary = synth.generate(args.out, config_from(SynthConfig, args), progress=progress("synth"))
    print(
        f"synthetic dataset: {len(summary['classes'])} classes, {summary['train_clips']} train clips, "
        f"{summary['test_clips']} test clips in {summary['path']}"
    )
    return 0


def download_needs_environment() -> bool:
    """True in a clone whose host has no RAR extractor while harflow's environment (its root file system) has one."""
    from harflow.datasets.archives import rar_extractor

    return env.source_checkout() and env.needs_rootfs() and rar_extractor() is None


def cmd_data_download(args: argparse.Namespace) -> int:
    """Fetch the official archives and split files into DIR/downloads (resumable; or take --archive files),
    unpack them and arrange DIR in the layout `harflow run` reads (standard library only)."""
    from harflow.datasets import download, sources
    from harflow.datasets.archives import DownloadError

    try:
        given = sources.read_checksum_file(Path(args.checksums)) if args.checksums else {}
        root = download.download(
            args.dataset,
            args.dir,
            archives=args.archive,
            progress=lambda line: print(line, flush=True),
            verify_checksums=args.verify,
            source=args.source,
            checksums=given,
        )
    except (DownloadError, ValueError) as error:
        raise UsageError(str(error)) from None
    print(f"next: harflow run --data {root} --dataset {args.dataset}")
    return 0


def cmd_data_stats(args: argparse.Namespace) -> int:
    """Print statistics.md (clips per class and split, frames per clip, rejects) of an Examples folder,
    or of the newest VideoExampleGen run under a work dir."""
    print(statistics_file(Path(args.path)).read_text(), end="")
    return 0


def statistics_file(path: Path) -> Path:
    """statistics.md in an Examples folder, or in the newest VideoExampleGen output under a work dir."""
    candidates = [path / "statistics.md"] if (path / "statistics.md").is_file() else []
    if not candidates and path.is_dir():
        candidates = sorted(path.glob("**/VideoExampleGen/examples/*/statistics.md"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise UsageError(f"{path}: no statistics.md here or under */VideoExampleGen/examples/ (run the pipeline first)")
    return candidates[-1]


def cmd_data_audit(args: argparse.Namespace) -> int:
    """Read DIR as `harflow run --data DIR` would, decode every clip as ingestion does, and list near-duplicate
    pairs that straddle train/val/eval: how many eval videos have one in train, per class, the closest pairs,
    the threshold (harflow/leakage.py). Prints the table, writes JSON; exit 1 past --fail-on-leak."""
    import json

    from harflow import leakage
    from harflow.datasets.detect import read_configured

    ingest = config_from(IngestConfig, args)
    index = read_configured(ingest)
    print(f"split source: {index.source}", flush=True)
    report = leakage.audit_index(index, ingest.num_frames, ingest.image_size, ingest.leak_threshold, progress=progress("audit"))
    print(leakage.to_markdown(report), end="")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=1))
    print(f"wrote {args.json}")
    if leakage.leaks_too_much(report, ingest.fail_on_leak):
        print(f"harflow: leak: more than {ingest.fail_on_leak:g} of the eval videos have a near-duplicate in train", file=sys.stderr)
        return 1
    return 0
