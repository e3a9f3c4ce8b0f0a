"""How much memory this machine has free, to refuse impossible work up front."""

from __future__ import annotations

import os


def available_bytes() -> int:
    """Memory available to new allocations (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown platform: do not refuse


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def ensure_fits(needed: int, what: str, advice: str) -> None:
    """Raise ``ValueError`` before allocating ``needed`` bytes that cannot fit."""
    free = available_bytes()
    if needed > free:
        raise ValueError(f"{what} needs {gib(needed)} but only {gib(free)} of memory is available; {advice}")
