"""Artifact URIs go through harflow.storage (tf.io.gfile), never local-file calls: a regression guard.

components/, pipeline/ and serving/ must not call open(), os.path's file
queries, os's file operations, shutil or pathlib.Path on anything that may be
a gs:// or s3:// URI. The few genuinely local things (the clips, MLMD's SQLite
file, the web app's upload folder, the local branch of the Pusher's atomic
rename) are allowed line by line below, each with its reason.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("components", "pipeline", "serving")
LOCAL_FILE_CALL = re.compile(
    r"(?<![\w.])open\("  # builtin open
    r"|(?<!FileSystems)\.open\("  # Path.open (Beam's FileSystems.open reads gs:// itself)
    r"|\bos\.path\.(?:exists|isfile|isdir|getsize|getmtime|realpath|abspath|expanduser|relpath)\b"
    r"|\bos\.(?:makedirs|mkdir|listdir|rename|replace|remove|unlink|stat|walk|scandir|rmdir)\("
    r"|\bshutil\."
    r"|\bPath\("
)

# file -> {a fragment of the allowed line: why it is local}
ALLOWED = {
    "pipeline/pipeline.py": {
        "path = Path(root)": "the dataset's fingerprint: the clips' folder",
        "os.walk(path)": "the dataset's fingerprint: the clips' folder",
        "os.stat(os.path.join(directory, name))": "the dataset's fingerprint: the clips' folder",
        "os.path.relpath(os.path.join(directory, name), path)": "the dataset's fingerprint: the clips' folder",
    },
    "pipeline/run.py": {"Path(config.metadata_path)": "MLMD's SQLite file (metadata_dir is local; a URI is refused)"},
    "pipeline/comparisons.py": {
        "path = Path(run)": "a local work dir whose MLMD names the comparison (a gs:// comparison folder is found above it)",
        "metadata = Path(config.metadata_path)": "MLMD's SQLite file",
    },
    "serving/versions.py": {  # the local branch of each function (storage.is_uri sends gs:// / s3:// to the functions at the end)
        "base = Path(base)": "the local branch: POSIX folders",
        "else Path(base) / str(found[-1])": "the local branch: POSIX folders",
        "base, removed = Path(base), []": "the local branch: dead staging folders",
        "shutil.rmtree(path, ignore_errors=True)": "the local branch: dead staging folders",
        "os.open(staging.with_name(staging.name + LOCK_SUFFIX)": "the local branch: the push's flock",
        "copy_tree: Callable = shutil.copytree": "the local branch's copy (tests watch it)",
        "model_dir, base = Path(model_dir), Path(base)": "the local branch: POSIX's atomic rename",
        "shutil.rmtree(staging, ignore_errors=True)": "the local branch: POSIX's atomic rename",
        "shutil.rmtree(hidden)": "the local branch: pruning after an atomic rename",
        "os.rename(": "the local branch: POSIX's atomic rename",
    },
    "serving/live.py": {"source, out = Path(source), Path(out)": "a video file and the annotated video: OpenCV"},
    "serving/analysis.py": {"check_video_file(Path(path))": "an uploaded clip: OpenCV"},
    "serving/web/app.py": {
        "os.path.getsize(path)": "the upload's temp file",
        "os.unlink(path)": "the upload's temp file",
        "suffix = Path(name).suffix": "an upload's file name",
        "Path(path).mkdir(": "the upload folder",
        "Path(path).resolve()": "the upload folder",
    },
    "serving/web/server.py": {
        'upload_dir = Path(server.app.config["UPLOAD_DIR"])': "the upload folder",
        "shutil.rmtree(upload_dir, ignore_errors=True)": "the upload folder",
    },
    "serving/web/privileges.py": {'Path("/proc/self/uid_map")': "the kernel's user-namespace map"},
}


def local_file_calls() -> list[tuple[str, int, str]]:
    found = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if LOCAL_FILE_CALL.search(code):
                    found.append((relative, number, line.strip()))
    return found


def is_allowed(relative: str, line: str) -> bool:
    return any(fragment in line for fragment in ALLOWED.get(relative, {}))


def test_artifact_code_makes_no_local_file_calls_outside_the_allow_list():
    offending = [f"{file}:{number}: {line}" for file, number, line in local_file_calls() if not is_allowed(file, line)]
    assert not offending, "use harflow.storage (tf.io.gfile) for artifact URIs, or allow a genuinely local line here:\n" + "\n".join(offending)


def test_every_allow_list_entry_still_names_a_line():
    lines = {(file, line) for file, _, line in local_file_calls()}
    stale = [f"{file}: {fragment}" for file, fragments in ALLOWED.items() for fragment in fragments
             if not any(f == file and fragment in line for f, line in lines)]
    assert not stale, "remove these allow-list entries, their lines are gone:\n" + "\n".join(stale)


def test_the_guard_catches_each_kind_of_local_file_call():
    for line in ("with open(uri) as f:", "Path(uri).read_text()", "os.path.exists(uri)", "os.makedirs(uri)",
                 "shutil.copytree(a, b)", "path.open('w')"):
        assert LOCAL_FILE_CALL.search(line), line
    for line in ("storage.read_text(uri)", "tf.io.gfile.GFile(uri)", "FileSystems.open(uri)", "os.path.join(uri, name)", "os.fdopen_like = 1"):
        assert not LOCAL_FILE_CALL.search(line), line
