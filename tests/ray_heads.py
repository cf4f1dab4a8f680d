"""A separate Ray head for tests that need their own cluster, stopped by its own process ids."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil

BIN = Path(sys.executable).parent


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@contextlib.contextmanager
def head_process(
    options: list[str], *, env: dict[str, str], temp_dir: Path, log: Path, cwd: Path | None = None
) -> Iterator[subprocess.Popen]:
    """``ray start --head --block`` on loopback with its own temp dir and ``options``.

    On exit the head and every process it started are stopped by process id (SIGTERM, then
    SIGKILL for what is left) and the temp dir is removed; nothing is stopped by name.
    """
    head = subprocess.Popen(
        [
            str(BIN / "ray"),
            "start",
            "--head",
            "--block",
            "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp_dir}",
            "--disable-usage-stats",
            *options,
        ],
        env=env,
        cwd=cwd,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield head
    finally:
        processes = [head]
        with contextlib.suppress(psutil.NoSuchProcess):
            processes += psutil.Process(head.pid).children(recursive=True)
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops the services it started
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
        _gone, alive = psutil.wait_procs([p for p in processes if p.pid != head.pid], timeout=30)
        for process in alive:
            process.kill()
        subprocess.run(["rm", "-rf", str(temp_dir)], check=False)
