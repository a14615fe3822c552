"""The benchmark's client and throwaway server on CPUs of their own
(benchmarks.cpus): the split, its description, and the pinning of a real
process's threads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks.cpus import describe, split


@pytest.mark.parametrize(("available", "expected"), [
    (set(), None),
    ({0}, None),
    ({3}, None),
    ({0, 1}, ({0}, {1})),
    ({0, 1, 2, 3}, ({0}, {1, 2, 3})),
    # CPUs this process may use, not always from 0 nor contiguous (taskset, cgroups).
    ({5, 2}, ({2}, {5})),
    ({7, 1, 4}, ({1}, {4, 7})),
])
def test_one_cpu_for_the_client_and_the_others_for_the_server(available, expected):
    assert split(available) == expected


@pytest.mark.parametrize(("cpus", "expected"), [
    (None, "client and server share the CPUs"),
    (({0}, {1}), "client on CPU 0, server on CPU 1"),
    (({2}, {3, 5, 4}), "client on CPU 2, server on CPU 3,4,5"),
])
def test_the_runs_header_says_where_each_runs(cpus, expected):
    assert describe(cpus) == expected


ROOT = Path(__file__).resolve().parents[2]

# In a process of its own: keep_apart() pins the process that calls it.
PIN_A_THREADED_CHILD = textwrap.dedent("""
    import json, os, subprocess, sys
    from pathlib import Path
    from benchmarks.cpus import keep_apart
    # A child with several threads already running when it is pinned.
    child = subprocess.Popen([sys.executable, "-c", (
        "import threading, time\\n"
        "for _ in range(3): threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\\n"
        "print('ready', flush=True); time.sleep(30)")], stdout=subprocess.PIPE, text=True)
    try:
        child.stdout.readline()
        placed = keep_apart(child.pid)
        threads = {task.name: sorted(os.sched_getaffinity(int(task.name)))
                   for task in Path(f"/proc/{child.pid}/task").iterdir()}
        print(json.dumps({"placed": [sorted(s) for s in placed], "threads": threads,
                          "self": sorted(os.sched_getaffinity(0))}))
    finally:
        child.kill()
        child.wait()
""")


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(
    getattr(os, "sched_getaffinity", lambda _: ())(0)) < 2,
    reason="needs Linux and two CPUs or more")
def test_every_thread_of_the_server_and_the_client_are_pinned_apart():
    done = subprocess.run([sys.executable, "-c", PIN_A_THREADED_CHILD], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    found = json.loads(done.stdout)
    client, server = found["placed"]
    assert found["self"] == client
    assert len(found["threads"]) == 4  # the main thread and three more
    assert all(cpus == server for cpus in found["threads"].values())
    assert not set(client) & set(server)
    assert sorted(set(client) | set(server)) == sorted(os.sched_getaffinity(0))
