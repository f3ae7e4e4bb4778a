"""Secrets never echoed: `user:password@` in a URL becomes `***@` in every message and log line.

Standard library only, so the command line (harflow.cli.app) redacts its one-line errors with it
before anything else is imported, and kubeflow.submit its messages and the run link.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it replaced: http://alice:pw@host -> http://***@host."""
    return _USERINFO.sub(rf"\g<scheme>{REDACTED}@", str(text))
