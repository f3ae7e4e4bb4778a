"""harflow.datasets.sources and the checks `harflow data download` makes with it: published checksums and sizes,
your own with --checksums, the UCF101 mirror's flat zip arranged into class folders.

The archives are made here (zip): the real ones cannot be fetched from this machine. The recorded values
themselves are checked for form, not against the real files; sources.py names where each was published.
"""

import hashlib
import subprocess
import sys

import pytest

from archive_fixtures import zip_bytes
from harflow.datasets import download, sources
from harflow.datasets.detect import read_dataset
from harflow.datasets.download import DownloadError
from harflow.datasets.records import EVAL

SPLITS_NAME = sources.UCF101_SPLITS.name  # UCF101TrainTestSplits-RecognitionTask.zip


# the lists spell one class's clips v_HandStandPushups_..., the mirror's files v_HandstandPushups_...
UCF_SPLITS = {
    "ucfTrainTestlist/classInd.txt": b"1 HandstandPushups\r\n2 Run\r\n",
    "ucfTrainTestlist/trainlist01.txt": b"HandstandPushups/v_HandStandPushups_g08_c01.avi 1\r\nRun/v_Run_g08_c01.avi 2\r\n",
    "ucfTrainTestlist/testlist01.txt": b"HandstandPushups/v_HandStandPushups_g01_c01.avi\r\nRun/v_Run_g01_c01.avi\r\n",
}
MIRROR_VIDEOS = {f"UCF101/v_{c}_g{g}_c01.avi": f"{c}{g}".encode() for c in ("HandstandPushups", "Run") for g in ("01", "08")}


def quiet(line: str) -> None:
    pass


# --------------------------------------------------------------------------- the table


def test_every_source_is_https_and_every_default_archive_has_a_published_checksum():
    for dataset, choices in sources.SOURCES.items():
        assert all(a.url.startswith("https://") for archives in choices.values() for a in archives)
        default = sources.archives_of(dataset)
        assert all(a.checksum and a.published_by for a in default), f"{dataset}'s default source has an unchecked archive"


def test_recorded_checksums_are_well_formed():
    for archive in sources.KNOWN.values():
        if archive.checksum:
            algorithm, value = archive.checksum.split(":")
            assert sources.DIGEST_LENGTHS[len(value)] == algorithm and int(value, 16) >= 0


def test_an_unknown_source_names_the_choices():
    with pytest.raises(DownloadError, match=r"hmdb51 has no source 'mirror'; choose one of official"):
        download.download("hmdb51", "unused", source="mirror", progress=quiet)


@pytest.mark.parametrize("source, first", [(None, sources.UCF101_VIDEOS_MIRROR), ("official", sources.UCF101_VIDEOS_OFFICIAL)])
def test_ucf101_is_fetched_from_the_checked_mirror_unless_official_is_asked_for(tmp_path, monkeypatch, source, first):
    fetched = []

    def fake_fetch(url, folder, progress, size=None):
        fetched.append((url, size))  # the published size goes along, so a server announcing another is refused at once
        raise DownloadError("stop here")

    monkeypatch.setattr(download, "fetch", fake_fetch)
    with pytest.raises(DownloadError, match="stop here"):
        download.download("ucf101", tmp_path, source=source, progress=quiet)
    assert fetched == [(first.url, first.size)]


# --------------------------------------------------------------------------- verifying


def test_an_archive_of_the_wrong_size_is_refused_before_hashing(tmp_path):
    archive = tmp_path / SPLITS_NAME
    archive.write_bytes(zip_bytes(UCF_SPLITS))
    with pytest.raises(DownloadError, match=rf"{SPLITS_NAME}: \d+ bytes, but the published {SPLITS_NAME} has 113943; .*--no-verify"):
        download.download("ucf101", tmp_path / "data", [str(archive)], progress=quiet)
    assert not (tmp_path / "data" / "classInd.txt").exists()


def test_an_archive_of_the_right_size_with_another_sha256_is_refused_naming_the_publisher(tmp_path):
    archive = tmp_path / SPLITS_NAME
    archive.write_bytes(b"\0" * sources.UCF101_SPLITS.size)
    with pytest.raises(DownloadError, match=r"sha256 [0-9a-f]{64} is not the published 5c0d1a53.* \(TensorFlow Datasets.*--no-verify"):
        download.verify(archive, sources.KNOWN[archive.name], progress=quiet)


def test_hmdb51_archives_are_checked_by_their_published_md5(tmp_path):
    archive = tmp_path / "test_train_splits.rar"
    archive.write_bytes(b"not the splits")
    with pytest.raises(DownloadError, match=r"md5 [0-9a-f]{32} is not the published 15e67781e70dcfbdce2d7dbb9b3344b5 \(torchvision"):
        download.download("hmdb51", tmp_path / "data", [str(archive)], progress=quiet)


def test_a_checksum_given_with_checksums_is_checked_and_wins(tmp_path):
    archive = tmp_path / SPLITS_NAME
    archive.write_bytes(zip_bytes(UCF_SPLITS))
    right = {SPLITS_NAME: "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()}
    said = []
    root = download.download("ucf101", tmp_path / "data", [str(archive)], progress=said.append, checksums=right)
    assert (root / "classInd.txt").is_file()
    assert f"{SPLITS_NAME}: sha256 matches the one given" in said
    wrong = {SPLITS_NAME: "md5:" + "0" * 32}
    with pytest.raises(DownloadError, match=r"md5 [0-9a-f]{32} is not the published 0{32}; "):
        download.download("ucf101", tmp_path / "other", [str(archive)], progress=quiet, checksums=wrong)


def test_an_archive_without_a_recorded_checksum_is_unpacked_with_its_sha256_shown(tmp_path):
    """No published value to compare with: the archive's own sha256 is printed with a warning, never a silent pass."""
    archive = tmp_path / "mine.zip"
    archive.write_bytes(zip_bytes(UCF_SPLITS))
    said = []
    root = download.download("ucf101", tmp_path / "data", [str(archive)], progress=said.append)
    assert (root / "classInd.txt").is_file()
    actual = hashlib.sha256(archive.read_bytes()).hexdigest()
    assert any(line.startswith("warning: no published checksum is recorded for mine.zip") and actual in line for line in said)


def test_no_verify_skips_the_check(tmp_path):
    archive = tmp_path / SPLITS_NAME
    archive.write_bytes(zip_bytes(UCF_SPLITS))
    said = []
    download.download("ucf101", tmp_path / "data", [str(archive)], progress=said.append, verify_checksums=False)
    assert not any("checking" in line or "sha256" in line for line in said)


def test_a_checksum_file_reads_sha256sum_and_md5sum_output(tmp_path):
    sha, md5 = "ab" * 32, "CD" * 16
    path = tmp_path / "SHA256SUMS"
    path.write_text(f"# mine\n{sha}  UCF101.rar\n\n{md5} *downloads/test_train_splits.rar\n")
    assert sources.read_checksum_file(path) == {"UCF101.rar": f"sha256:{sha}", "test_train_splits.rar": f"md5:{md5.lower()}"}


@pytest.mark.parametrize("line", ["abc  UCF101.rar", "UCF101.rar " + "ab" * 32, "ab" * 32])
def test_a_malformed_checksum_line_is_an_error_naming_the_file_and_line(tmp_path, line):
    path = tmp_path / "sums"
    path.write_text(f"{'ab' * 32}  fine.zip\n{line}\n")
    with pytest.raises(ValueError, match=r"sums:2: expected '<sha256 or md5 in hex>  <file name>'"):
        sources.read_checksum_file(path)


# --------------------------------------------------------------------------- the mirror's layout


def test_the_mirrors_flat_zip_is_arranged_into_the_class_folders_the_lists_name(tmp_path):
    (tmp_path / "UCF101_videos.zip").write_bytes(zip_bytes(MIRROR_VIDEOS))
    (tmp_path / SPLITS_NAME).write_bytes(zip_bytes(UCF_SPLITS))
    archives = [str(tmp_path / "UCF101_videos.zip"), str(tmp_path / SPLITS_NAME)]

    root = download.download("ucf101", tmp_path / "ucf101", archives, progress=quiet, verify_checksums=False)

    assert (root / "HandstandPushups" / "v_HandStandPushups_g08_c01.avi").read_bytes() == b"HandstandPushups08"
    assert not (root / "UCF101").exists()
    index = read_dataset("auto", root)
    assert {c.clip_id: c.split == EVAL for c in index.clips} == {
        "HandstandPushups/v_HandStandPushups_g01_c01.avi": True, "Run/v_Run_g01_c01.avi": True,
        "HandstandPushups/v_HandStandPushups_g08_c01.avi": False, "Run/v_Run_g08_c01.avi": False,
    }


def test_lists_with_a_byte_order_mark_and_tabs_place_videos_as_the_reader_reads_them(tmp_path):
    """The lists are read line by line as the UCF101 reader reads them (harflow.datasets.ucf101.clip_id_of)."""
    splits = {name: data.replace(b" ", b"\t") for name, data in UCF_SPLITS.items()}
    splits["ucfTrainTestlist/trainlist01.txt"] = b"\xef\xbb\xbf" + splits["ucfTrainTestlist/trainlist01.txt"]
    (tmp_path / "videos.zip").write_bytes(zip_bytes(MIRROR_VIDEOS))
    (tmp_path / "splits.zip").write_bytes(zip_bytes(splits))
    root = download.download("ucf101", tmp_path / "data", [str(tmp_path / "videos.zip"), str(tmp_path / "splits.zip")], progress=quiet, verify_checksums=False)
    assert (root / "HandstandPushups" / "v_HandStandPushups_g08_c01.avi").read_bytes() == b"HandstandPushups08"
    assert not (root / "UCF101").exists()


def test_a_list_entry_that_climbs_out_does_not_steer_a_video_out_of_the_dataset(tmp_path):
    splits = dict(UCF_SPLITS)
    splits["ucfTrainTestlist/trainlist01.txt"] = b"../v_Run_g08_c01.avi 2\r\nRun/../../v_Run_g01_c01.avi 2\r\n"
    (tmp_path / "videos.zip").write_bytes(zip_bytes(MIRROR_VIDEOS))
    (tmp_path / "splits.zip").write_bytes(zip_bytes(splits))
    root = download.download("ucf101", tmp_path / "data", [str(tmp_path / "videos.zip"), str(tmp_path / "splits.zip")], progress=quiet, verify_checksums=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "splits.zip", "videos.zip"]
    assert (root / "UCF101" / "v_Run_g08_c01.avi").is_file()  # unlisted: kept in the folder it came in


# --------------------------------------------------------------------------- the command


def test_the_command_checks_archives_against_a_checksums_file(tmp_path):
    archive = tmp_path / SPLITS_NAME
    archive.write_bytes(zip_bytes(UCF_SPLITS))
    sums = tmp_path / "SHA256SUMS"
    sums.write_text(f"{'0' * 64}  {SPLITS_NAME}\n")
    command = [sys.executable, "-m", "harflow", "data", "download", "ucf101", str(tmp_path / "data"), "--archive", str(archive)]
    refused = subprocess.run([*command, "--checksums", str(sums)], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "is not the published 0000" in refused.stderr
    sums.write_text(f"{hashlib.sha256(archive.read_bytes()).hexdigest()}  {SPLITS_NAME}\n")
    taken = subprocess.run([*command, "--checksums", str(sums)], capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0, taken.stderr
    assert (tmp_path / "data" / "classInd.txt").is_file()
