"""Process resource figures for the logs and the observation report (Linux /proc, stdlib only)."""

from __future__ import annotations

import os
import resource
import shutil
from pathlib import Path


def rss_mb() -> float:
    """Current resident set size in MiB (falls back to the peak where /proc is missing)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def disk_free_mb(path: str | os.PathLike[str] = ".") -> float:
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free / 2**20
