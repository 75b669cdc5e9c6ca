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


def run_quickstart(output: Path, *extra: str, tasks: int = 2, via_cosmo_run: bool = False):
    """pipelines/quickstart.py as a real process (through `cosmo run` if asked); it must succeed."""
    command = ("-m", "cosmo_blocks.cli", "run") if via_cosmo_run else ()
    args = ("pipelines/quickstart.py", "--output", str(output), "--tasks", str(tasks), *extra)
    result = run_cli(*command, *args, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def quickstart_runs(tmp_path_factory, tiny_model):
    """The quickstart with the tiny model, twice, in separate folders: as a script with the model's
    short name in 2 tasks, and through `cosmo run` with the model's folder in 1 task. One session's
    runs serve every test that reads a finished quickstart (an engine start costs tens of seconds)."""
    first = tmp_path_factory.mktemp("qs1")
    result = run_quickstart(first, "--model", "tiny")
    second = tmp_path_factory.mktemp("qs2")
    run_quickstart(second, "--model", tiny_model, tasks=1, via_cosmo_run=True)
    return first, second, result
