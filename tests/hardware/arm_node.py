"""The ``arm_node`` fixture: a Ray head with one ``kinova_gen3`` unit, wired to a stand-in arm.

The session's shared in-process Ray (``local_ray``) has no ``kinova_gen3`` resource and a process
can only join one Ray, so the arm node is a separate ``ray start --head --block`` (one CPU, its own
temp dir and ports), driven from subprocesses and stopped by its own process ids. Its environment
is that of a node wired to the arm: the stand-in ``kortex_api`` on ``PYTHONPATH``, the arm account
in ``$KINOVA_USERNAME``/``$KINOVA_PASSWORD`` (the node's, never the driver's), and
``$KORTEX_STANDIN_ARM`` describing the simulated arm that answers at ``HOST:PORT``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ray_heads import free_ports, head_process

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STANDIN = Path(__file__).with_name("standin")
ARM_HOST, ARM_PORT = "127.0.0.1", 10000
ARM_USERNAME, ARM_PASSWORD = "node-operator-5521", "node-pw-never-logged-9931"


@dataclass(frozen=True)
class ArmNode:
    address: str  # GCS address for ray.init / --address
    temp_dir: Path  # the head's Ray temp dir (session logs under session_latest/logs)
    driver_env: dict[str, str]  # environment of a driver process: no credentials, no RAY_ADDRESS

    @property
    def logs_dir(self) -> Path:
        return self.temp_dir / "session_latest" / "logs"


def driver_environment() -> dict[str, str]:
    # Ray 2.60 heads use token auth; a client whose mode is left to the surroundings may not.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "RAY_AUTH_MODE": "token"}
    for name in ("RAY_ADDRESS", "KINOVA_USERNAME", "KINOVA_PASSWORD", "KINOVA_SECRETS_FILE"):
        env.pop(name, None)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
    )
    return env


@pytest.fixture(scope="session")
def arm_node(tmp_path_factory) -> Iterator[ArmNode]:
    """The arm node for the session; stopped (and its temp dir removed) at the end."""
    folder = tmp_path_factory.mktemp("arm_node")
    arm_config = folder / "standin_arm.json"
    arm_config.write_text(
        json.dumps(
            {"host": ARM_HOST, "port": ARM_PORT, "username": ARM_USERNAME, "password": ARM_PASSWORD}
        )
    )
    gcs, agent, agent_grpc, runtime_agent, metrics, client = free_ports(6)
    temp_dir = Path("/tmp") / f"sm_arm_{os.getpid()}_{gcs}"  # short: Ray's socket paths are capped
    env = driver_environment()
    env.update(
        PYTHONPATH=os.pathsep.join((str(STANDIN), env["PYTHONPATH"])),
        KINOVA_USERNAME=ARM_USERNAME,
        KINOVA_PASSWORD=ARM_PASSWORD,
        KORTEX_STANDIN_ARM=str(arm_config),
    )
    log = folder / "head.log"
    options = [
        f"--port={gcs}",
        f"--dashboard-agent-listen-port={agent}",
        f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_agent}",
        f"--metrics-export-port={metrics}",
        f"--ray-client-server-port={client}",
        "--num-cpus=1",
        '--resources={"kinova_gen3": 1}',
        "--include-dashboard=false",
    ]
    with head_process(options, env=env, temp_dir=temp_dir, log=log, cwd=folder) as head:
        deadline = time.monotonic() + 180
        while "Ray runtime started" not in log.read_text():
            if head.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(log.read_text()[-3000:])
            time.sleep(0.5)
        yield ArmNode(f"127.0.0.1:{gcs}", temp_dir, driver_environment())


def run_driver(node: ArmNode, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """A driver process on the arm node's cluster (``python -c`` script or ``safemeta`` command).

    On a timeout the driver is killed by its process id (its Ray processes are the node's).
    """
    return subprocess.run(
        list(args),
        env=node.driver_env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
