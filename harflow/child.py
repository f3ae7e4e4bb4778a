"""Run a command as a child that signals reach: what the wrappers (`bin/harflow`, `python -m harflow`,
`harflow env run`) do with the command they start. Standard library only (harflow.env uses it).
"""

from __future__ import annotations

import contextlib
import signal
import subprocess

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_child(command: list[str], env: dict[str, str] | None = None) -> int:
    """Run `command` and return its exit status (128 + N when signal N ended it), passing on SIGINT and SIGTERM.

    A signal sent to the wrapper goes to the child, and the wrapper keeps waiting until the child has
    exited, so a server started through a wrapper stops gracefully and frees its port. A signal the
    wrapper ignores (SIGINT in a background job) stays ignored: the child inherits that.
    """
    child: subprocess.Popen | None = None
    early: list[int] = []  # signals that came before the child existed

    def forward(number, _frame):
        if child is None:
            early.append(number)
        elif child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(number)

    previous = {number: signal.getsignal(number) for number in FORWARDED_SIGNALS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, forward)
    try:
        child = subprocess.Popen(command, env=env)
        for number in early:
            child.send_signal(number)
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code
