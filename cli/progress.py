"""The one progress display of the command line, on stderr.

progress(label) -> report(done, total, name=""): on a terminal a tqdm bar (tqdm is imported only
then, and only if it is installed); otherwise (a pipe, a log file, or no tqdm) a line
"label: done/total" each time another tenth is done, so logs stay short.
"""

from __future__ import annotations

import sys
from typing import Callable

Report = Callable[..., None]  # report(done: int, total: int, name: str = "")


def progress(label: str) -> Report:
    if sys.stderr.isatty():
        try:
            from tqdm import tqdm
        except ModuleNotFoundError:
            pass
        else:
            return _bar(tqdm, label)
    return _lines(label)


def _lines(label: str) -> Report:
    last = [-1]

    def report(done: int, total: int, name: str = "") -> None:
        tenth = int(10 * done / max(total, 1))
        if tenth != last[0]:
            last[0] = tenth
            print(f"{label}: {done}/{total}", file=sys.stderr, flush=True)

    return report


def _bar(tqdm, label: str) -> Report:
    bar = [None]

    def report(done: int, total: int, name: str = "") -> None:
        if bar[0] is None:
            bar[0] = tqdm(total=total, desc=label, file=sys.stderr, dynamic_ncols=True)
        shown = bar[0]
        shown.total = total
        if name:
            shown.set_postfix_str(name[:40], refresh=False)
        shown.update(done - shown.n)
        if done >= total:
            shown.close()

    return report
