"""Fixtures shared by several test files."""

import pytest


@pytest.fixture
def outside(tmp_path):
    """A folder beside an archive's target that nothing may be written into (test_download, test_archives)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("do not touch")
    return folder
