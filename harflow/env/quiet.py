"""Quiet by default: no TensorFlow, absl or FFmpeg log line reaches the user unless asked.

Measured on a CPU machine (`harflow predict CLIP`, TensorFlow 2.21, OpenCV 5): TensorFlow's shared
libraries log through absl before absl is initialised, so `TF_CPP_MIN_LOG_LEVEL` cannot silence
them (`WARNING: All log messages before absl::InitializeLog() ...`, `port.cc ... oneDNN custom
operations are on`, `cudart_stub.cc ... Could not find cuda drivers`, twice each, and
`cuda_platform.cc ... failed call to cuInit`), and FFmpeg prints `moov atom not found` for a bad
file. So harflow (1) sets variables for the command: `TF_CPP_MIN_LOG_LEVEL=3` for what TensorFlow
logs after start-up, `OPENCV_FFMPEG_LOGLEVEL=-8` (AV_LOG_QUIET) and `OPENCV_LOG_LEVEL=OFF` for
FFmpeg and OpenCV (also set in harflow's own process by quiet_this_process, for an installed
harflow that runs right there); (2) the command line sets the Python loggers of absl (TFX), TensorFlow
and Beam to errors only (cli/app.py); (3) reads the command's stderr and drops the lines in absl's C++ format
(`I0000 00:00:... file.cc:31] ...`: info, warning and error; fatal ones stay) and FFmpeg's
(`[mov,mp4,... @ 0x...] ...`), passing everything else through as it comes (progress bars
included). `-v` (or `HARFLOW_DEBUG=1`) turns both off.

Standard library only: this runs on the host's own Python.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys

DEBUG_VARIABLE = "HARFLOW_DEBUG"
QUIET_VARIABLES = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "OPENCV_FFMPEG_LOGLEVEL": "-8",
    "OPENCV_LOG_LEVEL": "OFF",
    "GRPC_VERBOSITY": "NONE",
}
NOISE = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.+-]+:\d+\] .*"  # absl C++ log lines (not F: fatal)
    rb"|\[[\w,]+ @ 0x[0-9a-f]+\] .*"  # FFmpeg's av_log
    rb")[\r\n]*$"
)
LINE_END = re.compile(rb"[\r\n]")
HOLD_LIMIT = 8192


def verbose(environ: dict[str, str] | os._Environ = os.environ) -> bool:
    """True when the user asked for every log line (`harflow -v ...` or HARFLOW_DEBUG=1)."""
    return environ.get(DEBUG_VARIABLE) == "1"


def quiet_variables(environ: dict[str, str]) -> dict[str, str]:
    """`environ` plus the quietening variables (a value the user set wins)."""
    if verbose(environ):
        return dict(environ)
    return {**QUIET_VARIABLES, **environ}


def quiet_this_process(environ=None) -> None:
    """For a command run right here (installed, or inside the environment): the quietening variables
    before TensorFlow or OpenCV load (a value the user set wins; nothing under -v / HARFLOW_DEBUG=1)."""
    environ = os.environ if environ is None else environ
    if not verbose(environ):
        for name, value in QUIET_VARIABLES.items():
            environ.setdefault(name, value)


def is_noise(line: bytes) -> bool:
    return NOISE.match(line) is not None


def _could_become_noise(partial: bytes) -> bool:
    """An unfinished line is held back only if it may still turn out to be a log line."""
    return len(partial) < HOLD_LIMIT and partial[:1] in (b"I", b"W", b"E", b"[")


def split_noise(data: bytes) -> tuple[bytes, bytes]:
    """(what to write now, what to hold until more arrives): complete noise lines are dropped."""
    kept = []
    start = 0
    for match in LINE_END.finditer(data):
        line = data[start : match.end()]
        start = match.end()
        if not is_noise(line):
            kept.append(line)
    rest = data[start:]
    if rest and not _could_become_noise(rest):
        kept.append(rest)
        rest = b""
    return b"".join(kept), rest


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def call_filtered(command: list[str], environ: dict[str, str], sink_fd: int | None = None) -> int:
    """Run `command`, passing its stderr to `sink_fd` (our stderr) without the noise lines, and SIGINT /
    SIGTERM on to it (as harflow.child does); its exit status (128 + N when signal N ended it)."""
    sink = sys.stderr.fileno() if sink_fd is None else sink_fd
    process = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE)

    def forward(number, _frame):
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(number)

    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, forward)
    try:
        held = b""
        while chunk := os.read(process.stderr.fileno(), 65536):
            kept, held = split_noise(held + chunk)
            _write_all(sink, kept)
        if held and not is_noise(held):
            _write_all(sink, held)
        process.stderr.close()
        code = process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code
