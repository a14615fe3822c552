"""Client and server on CPUs of their own, when the benchmark starts its own
server: as they would be on two machines.

On one machine the scheduler otherwise moves the Python process and the
server's threads across the same cores, and a request then also measures
where each landed: on a 2-core machine the same case ran 60 % faster at 8
threads with the two kept apart, and two measurements of the same code landed
closer together (docs/benchmarks.md). The cases compared get the same CPUs.
"""

from __future__ import annotations

import os
from pathlib import Path


def split(available: set[int]) -> tuple[set[int], set[int]] | None:
    """The client's CPUs and the server's among ``available``: one for the
    client (a Python process uses one core at a time, whatever its threads),
    the others for the server. None with fewer than two."""
    if len(available) < 2:
        return None
    ordered = sorted(available)
    return {ordered[0]}, set(ordered[1:])


def keep_apart(server_pid: int) -> tuple[set[int], set[int]] | None:
    """Pin this process (and the worker processes it starts, which inherit
    it) and every thread of the server process ``server_pid`` (and the threads
    it starts later) to CPUs of their own. The two sets, or None where the
    system cannot pin or has a single CPU: nothing is changed then."""
    if not hasattr(os, "sched_setaffinity"):
        return None  # not Linux
    cpus = split(os.sched_getaffinity(0))
    if cpus is None:
        return None
    client, server = cpus
    # A thread's affinity is its own: each of the server's threads, by id.
    for task in Path(f"/proc/{server_pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), server)
        except ProcessLookupError:
            pass  # a thread that ended meanwhile
    os.sched_setaffinity(0, client)
    return client, server


def this_process() -> list[int] | None:
    """The CPUs this process (and so the cases) runs on: all of them unless
    keep_apart() pinned it; None where the system does not tell."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return sorted(os.sched_getaffinity(0))


def describe(cpus: tuple[set[int], set[int]] | None) -> str:
    """One line for the run's header."""
    if cpus is None:
        return "client and server share the CPUs"
    client, server = cpus
    return (f"client on CPU {','.join(map(str, sorted(client)))}, "
            f"server on CPU {','.join(map(str, sorted(server)))}")
