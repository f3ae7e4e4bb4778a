"""One clip reader: only harflow/video.py opens cv2.VideoCapture / cv2.VideoWriter, and one VIDEO_SUFFIXES.

The AST of every Python file outside tests/ is walked for `cv2.VideoCapture`,
`cv2.VideoWriter` (attribute or `from cv2 import ...`); the video module is the
only place allowed, plus one named exception: benchmarks/ingest.py's
`bare_loop`, the raw-OpenCV floor that harflow's reader is measured against.
"""

import ast
from pathlib import Path

import pytest

from harflow.datasets.folder import read_folder
from harflow.serving.web.app import _suffix, accepted_files
from harflow.video import VIDEO_SUFFIXES

ROOT = Path(__file__).resolve().parents[1]
VIDEO_IO = {"VideoCapture", "VideoWriter"}
VIDEO_MODULE = "harflow/video.py"
EXCEPTIONS = {("benchmarks/ingest.py", "bare_loop")}  # (file, function): the measured baseline
SKIPPED_DIRS = {"tests", "build", "node_modules", "dist"}


def source_files() -> list[Path]:
    """Every .py file of the repository outside tests/, hidden folders, build outputs and virtualenvs."""
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if not any(part in SKIPPED_DIRS or part.startswith(".") or part.endswith(".egg-info") or "venv" in part
                   for part in path.relative_to(ROOT).parts[:-1])
    )


def video_io_uses(source: str) -> list[tuple[int, str, str]]:
    """(line, name, enclosing function or "") for every cv2.VideoCapture / cv2.VideoWriter in `source`."""
    uses = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Attribute) and node.attr in VIDEO_IO and isinstance(node.value, ast.Name) and node.value.id == "cv2":
            uses.append((node.lineno, node.attr, function))
        if isinstance(node, ast.ImportFrom) and node.module == "cv2":
            uses.extend((node.lineno, alias.name, function) for alias in node.names if alias.name in VIDEO_IO)
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "")
    return uses


def test_the_walk_sees_the_whole_repository():
    names = {path.relative_to(ROOT).as_posix() for path in source_files()}
    assert {VIDEO_MODULE, "serving/live.py", "serving/windows.py", "harflow/datasets/synth.py", "benchmarks/ingest.py"} <= names
    assert not any(name.startswith("tests/") for name in names)


def test_the_check_finds_a_capture_a_writer_and_an_imported_name():
    source = "import cv2\nfrom cv2 import VideoWriter\ndef f():\n    return cv2.VideoCapture(0)\n"
    assert video_io_uses(source) == [(2, "VideoWriter", ""), (4, "VideoCapture", "f")]


def test_only_the_video_module_opens_or_writes_videos():
    found = []
    for path in source_files():
        name = path.relative_to(ROOT).as_posix()
        if name == VIDEO_MODULE:
            continue
        found += [f"{name}:{line} {what} (in {function or 'module'})" for line, what, function in video_io_uses(path.read_text())
                  if (name, function) not in EXCEPTIONS]
    assert not found, "cv2 video I/O outside harflow/video.py; use harflow.video (probe, read_clip, read_frames, VideoSource, ClipWriter):\n" + "\n".join(found)


def test_the_video_module_is_where_the_video_io_is():
    assert {what for _, what, _ in video_io_uses((ROOT / VIDEO_MODULE).read_text())} == VIDEO_IO


def test_video_suffixes_are_defined_once():
    defined = [path.relative_to(ROOT).as_posix() for path in source_files() if "VIDEO_SUFFIXES = " in path.read_text()]
    assert defined == [VIDEO_MODULE]


def test_the_suffixes_are_lowercase_dotted_and_include_mpg_and_avi():
    assert all(s.startswith(".") and s == s.lower() for s in VIDEO_SUFFIXES)
    assert len(set(VIDEO_SUFFIXES)) == len(VIDEO_SUFFIXES) and {".avi", ".mp4", ".mpg", ".mkv"} <= set(VIDEO_SUFFIXES)


@pytest.fixture
def one_file_per_suffix(tmp_path):
    """A folder-per-class dataset whose one class holds a (byte-only) file per suffix, plus files that are not videos."""
    folder = tmp_path / "data" / "Wave"
    folder.mkdir(parents=True)
    for number, suffix in enumerate(VIDEO_SUFFIXES):
        (folder / f"v_Wave_g{number:02d}_c01{suffix.upper() if number % 2 else suffix}").write_bytes(b"x")
    for other in ("notes.txt", "still.png", "anim.gif"):
        (folder / other).write_bytes(b"x")
    return tmp_path / "data"


def test_the_folder_reader_takes_exactly_the_video_suffixes(one_file_per_suffix):
    index = read_folder(one_file_per_suffix, random_split=True)
    assert sorted(Path(clip.clip_id).suffix.lower() for clip in index.clips) == sorted(VIDEO_SUFFIXES)


def test_the_web_app_keeps_exactly_the_video_suffixes():
    assert accepted_files().split(",")[1:] == list(VIDEO_SUFFIXES)
    assert [_suffix(f"clip{s.upper()}") for s in VIDEO_SUFFIXES] == list(VIDEO_SUFFIXES)
    assert _suffix("clip.gif") == ".video"
