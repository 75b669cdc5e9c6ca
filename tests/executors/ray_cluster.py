"""A real one-node Ray cluster on this machine, in a temp dir, for the Ray tests.

`ray start --head --block` runs in its own process group, so stopping it kills exactly what it
started (never `ray stop`, which kills every Ray instance on the machine, other checkouts' too).
Its ports are picked free and its sockets and logs live under a short folder in /tmp.

    python tests/executors/ray_cluster.py   # start one by hand; prints RAY_ADDRESS, Ctrl-C stops it
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RAY = Path(sys.executable).parent / "ray"


def ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return RAY.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRayCluster:
    def __init__(self, cpus: int = 2, memory: int = 8_000_000_000, object_store: int = 200_000_000):
        self.cpus, self.memory, self.object_store = cpus, memory, object_store
        self.port = free_port()
        self.root: Path | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        return [
            str(RAY), "start", "--head", "--block", f"--port={self.port}", "--node-ip-address=127.0.0.1",
            f"--num-cpus={self.cpus}", "--num-gpus=0", f"--memory={self.memory}",
            f"--object-store-memory={self.object_store}", f"--temp-dir={self.root}",
            "--include-dashboard=false", "--disable-usage-stats",
            f"--ray-client-server-port={free_port()}", f"--dashboard-agent-listen-port={free_port()}",
            f"--dashboard-agent-grpc-port={free_port()}", f"--metrics-export-port={free_port()}",
            f"--runtime-env-agent-port={free_port()}", f"--node-manager-port={free_port()}",
            f"--object-manager-port={free_port()}",
        ]  # fmt: skip

    def _env(self) -> dict:
        """The raylet's environment is every worker's: `steps` importable, no telemetry, and a killed
        worker's children (vLLM's EngineCore) killed with its process group rather than left running.
        (Not Ray's subreaper option: it sets SIGCHLD to SIG_IGN in every worker, so a task can no
        longer wait for its own subprocesses, and the code-execution sandbox's probe times out.)"""
        python_path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
        return os.environ | {
            "PYTHONPATH": python_path,
            "RAY_USAGE_STATS_ENABLED": "0",
            "RAY_process_group_cleanup_enabled": "true",
            # a ~/.ray/auth_token left by any earlier Ray would turn token authentication on for this
            # head, and clients without the token would be refused
            "RAY_AUTH_MODE": "disabled",
        }

    def start(self, timeout: float = 60) -> "LocalRayCluster":
        # short: Ray's unix sockets sit under {root}/session_*/sockets/
        self.root = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
        env = self._env()
        env.pop("RAY_ADDRESS", None)
        with open(self.root / "ray_start.log", "wb") as log:
            self.proc = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            res = subprocess.run(
                [str(RAY), "status", f"--address={self.address}"], capture_output=True, env=self._env()
            )
            if res.returncode == 0:
                return
            time.sleep(1)
        log = (self.root / "ray_start.log").read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"Ray test cluster at {self.address} not ready in {timeout}s:\n{log}")

    def stop(self):
        """SIGTERM our process group, SIGKILL what is left of it after 10 s, then remove the folder."""
        if self.proc is not None:
            _signal_group(self.proc.pid, signal.SIGTERM)
            if not self._group_gone(10):
                _signal_group(self.proc.pid, signal.SIGKILL)
                self._group_gone(5)
            self.proc = None
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _group_gone(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.proc.poll()  # reap the head process itself
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.2)
        return False


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    cluster = LocalRayCluster().start()
    print(f"export RAY_ADDRESS={cluster.address}", flush=True)
    try:
        cluster.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
