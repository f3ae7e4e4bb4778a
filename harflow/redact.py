"""Secrets never echoed: `user:password@` in a URL becomes `***@` in every message and log line.

Standard library only, so the command line (harflow.cli.app) redacts its one-line errors with it
before anything else is imported, and kubeflow.submit its messages, the run link and (`redacted_logs`)
the log lines of kfp and urllib3 while it runs.
"""

from __future__ import annotations

import contextlib
import logging
import re

_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]+@")
REDACTED = "***"


def redact(text: str) -> str:
    """`text` with the credentials of every URL in it replaced: http://alice:pw@host -> http://***@host."""
    return _USERINFO.sub(rf"\g<scheme>{REDACTED}@", str(text))


class RedactingFilter(logging.Filter):
    """A logging filter that passes a record's message, traceback and stack through `redact` (and lets it through)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: logging reports that itself; redact the parts
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)  # formatters use exc_text when set
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


@contextlib.contextmanager
def redacted_logs(*names: str):
    """While the block runs, records logged on the root logger and on the loggers `names` and their descendants
    (those that exist when the block starts: import the libraries first) are redacted before any handler sees them.

    A logger's filters only see the records logged on that very logger (not those propagated from its
    children), hence every descendant.
    """
    wanted = tuple(names)
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in wanted]
    loggers += [
        logger for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger) and name.startswith(tuple(f"{n}." for n in wanted))
    ]
    redacting = RedactingFilter()
    for logger in loggers:
        logger.addFilter(redacting)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(redacting)
