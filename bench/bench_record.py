"""Write one benchmark's section of bench/BENCHMARKS.md, keeping the other sections."""

from __future__ import annotations

import platform
import re
from datetime import date
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

BENCHMARKS = Path(__file__).with_name("BENCHMARKS.md")
HEADER = (
    "# Benchmarks\n\n"
    "Each section is written by the benchmark named in its command, on a 2-core machine of\n"
    "the project's kind; the machine is shared and noisy, so read medians and ratios measured\n"
    "in the same run, not single figures.\n"
)


def machine_line() -> str:
    """Where the figures come from: CPU count, Python, numpy and its BLAS kernel."""
    blas = next((f"{i['internal_api']} {i.get('architecture', '')}".strip()
                 for i in threadpool_info() if i.get("user_api") == "blas"), "unknown BLAS")
    import os

    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, numpy "
            f"{np.__version__} ({blas}), {date.today().isoformat()}")


def replace_section(key: str, body: str) -> None:
    """Put ``body`` between the ``key`` markers of BENCHMARKS.md (appended when absent)."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else HEADER
    section = f"{start}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    BENCHMARKS.write_text(text.rstrip("\n") + "\n")


def record_section(title: str, command: str, lines: list[str]) -> None:
    """Replace (or append) the section ``## title`` with the command and result lines."""
    key = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    replace_section(key, f"## {title}\n\n`{command}`\n\n{machine_line()}\n\n```\n"
                    + "\n".join(lines) + "\n```")
