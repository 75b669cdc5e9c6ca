"""Shared fixtures: a tiny real model, seed files, and helpers to run blocks for real."""

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_SEEDS = REPO / "pipelines" / "seeds" / "sample.jsonl"
# the share of RAM an engine may use on CPU, its process included (vLLM's CPU worker takes its own
# resident memory, ~0.9 GiB after whole-prompt prefill profiling, out of it before the KV cache);
# tests run engines one at a time
ENGINE_KWARGS = {"gpu_memory_utilization": 0.1, "max_model_len": 4096}


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A tiny Mixtral built at test time (no downloads), loaded by the real vLLM engine."""
    from cosmo_blocks.generation import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-mixtral"))


@pytest.fixture
def log_lines():
    """Messages datatrove's logger writes while the test runs (INFO and above)."""
    from datatrove.utils.logging import logger

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    yield lines
    logger.remove(sink)


@pytest.fixture
def sample_seeds() -> Path:
    return SAMPLE_SEEDS


def write_jsonl(path: Path, records: list) -> Path:
    """Write dicts as jsonl; bytes entries are written raw (for malformed-input tests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        for record in records:
            f.write(record if isinstance(record, bytes) else orjson.dumps(record))
            f.write(b"\n")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.strip()]


def run_steps(steps: list, rank: int = 0, world_size: int = 1) -> list:
    """Pipe steps into each other in this process, like datatrove's executor does for one task."""
    data = None
    for step in steps:
        data = step(data, rank, world_size)
    return list(data) if data is not None else []


def stats_of(step) -> dict:
    """A block's datatrove stats as {name: total}."""
    return {name: metric.total for name, metric in step.stats.stats.items()}


def run_cli(*args: str, cwd: Path = REPO, timeout: int = 600, env: dict | None = None):
    """Run a command of this venv (python -m ..., a pipeline script) as a real subprocess."""
    full_env = os.environ | {"PYTHONUNBUFFERED": "1"} | (env or {})
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=full_env
    )
