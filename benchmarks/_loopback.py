"""Shared by the judge benchmarks: the loopback server as a subprocess on its own core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "CORES",
    "loopback",
    "loopback_process",
    "pin_client",
    "run_queue_wait",
    "server_cpu",
    "server_stats",
]

CORES: tuple[int, ...] = tuple(sorted(os.sched_getaffinity(0)))
"""The cores this process may use, read once at import (before any pinning).

``pin_client`` narrows this process to the first core, and a subprocess inherits its
parent's affinity, so the server must be pinned from this list, not from the current
affinity: otherwise client and server end up sharing the client's core.
"""


@contextmanager
def loopback(*args: str) -> Iterator[str]:
    """Run the loopback server as a subprocess pinned to the last core; yield its base URL."""
    with loopback_process(*args) as (url, _):
        yield url


@contextmanager
def loopback_process(*args: str) -> Iterator[tuple[str, int]]:
    """:func:`loopback`, yielding the base URL and the server's process id."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "from livingeval.testing._server import main; main()", *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        os.sched_setaffinity(proc.pid, {CORES[-1]})
        yield url, proc.pid
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def pin_client() -> None:
    """Pin this process (the client) to the first core (the server gets the last one)."""
    os.sched_setaffinity(0, {CORES[0]})


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_wait(pid: int) -> float:
    """Seconds the threads of process ``pid`` spent runnable but waiting for a core.

    From Linux ``/proc/<pid>/task/*/schedstat`` (its second field); 0.0 where that is
    missing. A benchmark whose client waited a large share of its wall time was starved by
    other processes on its core, so its wall-clock figures say little.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            total += int((task / "schedstat").read_text(encoding="ascii").split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that just ended, or no schedstats on this kernel
    return total / 1e9


def server_stats(url: str) -> dict[str, int]:
    """The loopback server's counters."""
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats") as response:
        return dict(json.load(response))
