"""Write one benchmark's table into docs/benchmarks.md (standard library only).

Each benchmark owns one section, fenced by HTML comments, and replaces it
whole on every run; the other sections stay as they were:

    <!-- begin: NAME -->
    ## Title
    Command: `...`            (the command that made the numbers)
    ...table...
    <!-- end: NAME -->
"""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Every number here was written by the script named in its section, with the command shown; run it
again to refresh that section. Timings are wall-clock seconds on the machine named in the section.
"""


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def machine() -> str:
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores, {platform.python_implementation()} {platform.python_version()}"


def write_section(name: str, title: str, command: str, body: str, path: Path = REPORT) -> None:
    """Replace (or append) the section `name` of docs/benchmarks.md and print it."""
    section = (
        f"<!-- begin: {name} -->\n## {title}\n\n"
        f"Command: `{command}`  \n"
        f"Run on {time.strftime('%Y-%m-%d')}, {machine()}.\n\n{body.strip()}\n<!-- end: {name} -->"
    )
    print(section)
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"<!-- begin: {re.escape(name)} -->.*?<!-- end: {re.escape(name)} -->", re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    path.write_text(text)
