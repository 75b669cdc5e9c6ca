"""The Ray adapter's parts that need no cluster, and a run on a private Ray instance (`address = "local"`).

The runs on a shared cluster (kill and resume, stages, resources) are in tests/executors/test_ray.py.
"""

import inspect
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from datatrove.io import get_datafolder

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions
from cosmo_blocks.run.ray import cosmo_rank_worker, probe_tcp, rank_lock, resolve_address, task_env
from tests.conftest import REPO, SAMPLE_SEEDS, read_jsonl, run_cli

pytest.importorskip("ray")


def settings(*sets: str, executor: str = "ray"):
    return RunOptions(output="unused-output", executor=executor, sets=sets).settings


def test_our_worker_replaces_datatrove_s_by_its_module_name():
    """datatrove's submit thread builds `ray.remote(RankWorker)` from the module global: if a new
    datatrove builds its actors differently, tasks would silently run in its forked pool again."""
    import datatrove.executor.ray as dt_ray

    assert "ray.remote(RankWorker)" in inspect.getsource(dt_ray.RayTaskManager.submit_task)
    original = dt_ray.RankWorker
    with cosmo_rank_worker():
        assert dt_ray.RankWorker.__name__ == "CosmoRankWorker"
    assert dt_ray.RankWorker is original


def test_address_from_the_preset_then_ray_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ConfigError, match="no Ray cluster address.*RAY_ADDRESS.*ray start --head"):
        resolve_address(settings())
    assert resolve_address(settings(executor="ray-local")) == ("local", "preset address")
    assert resolve_address(settings("address='auto'")) == ("auto", "preset address")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    assert resolve_address(settings()) == ("10.0.0.5:6379", "RAY_ADDRESS")
    assert resolve_address(settings(executor="ray-local")) == ("10.0.0.5:6379", "RAY_ADDRESS")
    assert resolve_address(settings("address='head:7000'")) == ("head:7000", "preset address")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_address_that_does_not_answer_fails_in_seconds():
    port, start = closed_port(), time.monotonic()
    with pytest.raises(
        ConfigError, match=rf"cannot reach the Ray cluster at 127.0.0.1:{port} \(from RAY_ADDRESS\)"
    ):
        probe_tcp(f"127.0.0.1:{port}", "RAY_ADDRESS")
    assert time.monotonic() - start < 5
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        probe_tcp(f"ray://127.0.0.1:{server.getsockname()[1]}", "preset address")  # answers: no error
    with pytest.raises(ConfigError, match="expected HOST:PORT"):
        probe_tcp("head-without-port", "preset address")


def test_dry_run_names_an_unreachable_cluster_and_starts_nothing(tmp_path):
    port = closed_port()
    args = ["-m", "cosmo_blocks.cli", "run", "quickstart", "--executor", "ray", "--dry-run"]
    result = run_cli(*args, "--output", str(tmp_path / "out"), env={"RAY_ADDRESS": f"127.0.0.1:{port}"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ray cluster: 127.0.0.1:{port} (from RAY_ADDRESS)" in result.stdout
    assert "!! cannot reach the Ray cluster" in result.stdout
    assert (
        "stage main: 1000 of 1000 tasks to run, up to all at once; each task: 12 CPU, 2 GPU, 120 GiB"
        in result.stdout
    )
    assert not (tmp_path / "out").exists()


def test_tasks_get_forwarded_variables_hf_home_and_the_preset_env(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "secret")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    env = task_env(settings("forward_env=['HF_TOKEN', 'OPENAI_API_KEY']"))
    assert env == {
        "HF_TOKEN": "secret",
        "HF_HOME": "/home/someone/.cache/huggingface",
        "VLLM_WORKER_MULTIPROC_METHOD": "spawn",
    }


HOLD = """
import sys, time
from datatrove.io import get_datafolder
from cosmo_blocks.run.ray import rank_lock
with rank_lock(get_datafolder(sys.argv[1]), 3):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def test_rank_lock_lets_one_holder_run_a_rank_and_dies_with_it(tmp_path):
    """A second attempt at a rank waits for the first (a resubmitted task beside a live one), and a
    killed holder leaves no stale lock behind."""
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "600"], stdout=subprocess.PIPE, text=True
    )
    assert first.stdout.readline() == "holding\n"
    assert f"pid {first.pid} on" in (tmp_path / "locks" / "00003.lock").read_text()
    second = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), "0"], stdout=subprocess.PIPE, text=True
    )
    with pytest.raises(subprocess.TimeoutExpired):
        second.wait(3)  # blocked behind the first
    first.kill()
    out, _ = second.communicate(timeout=30)
    assert out == "holding\nreleased\n"
    start = time.monotonic()
    with rank_lock(get_datafolder(str(tmp_path)), 3):
        assert time.monotonic() - start < 1


def test_no_rank_lock_on_object_storage():
    """A remote folder's path has no protocol ('/bucket/logs'): read as a local path, the lock would go
    to a folder of that name on the task's machine."""
    folder = get_datafolder("memory://cosmo-rank-lock-test/logs")
    with rank_lock(folder, 3):
        assert not Path("/cosmo-rank-lock-test").exists()


COPY_SEEDS = """
from datatrove.pipeline.writers import JsonlWriter
from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import CodeExecutionFilter
from cosmo_blocks.seeds import SeedReader

def build(opts):  # the code filter checks its sandbox as the task starts, documents or not
    return [SeedReader(opts.seeds), CodeExecutionFilter(), JsonlWriter(f"{opts.output}/copy", compression=None)]

if __name__ == "__main__":
    pipeline_main(build)
"""


PRIVATE_ENV = {"RAY_ADDRESS": "", "RAY_kill_child_processes_on_worker_exit_with_raylet_subreaper": "true"}


def raylets() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "raylet"}


@pytest.mark.ray
def test_ray_local_without_a_cluster_starts_a_private_one_and_stops_it(tmp_path):
    """What a user without a cluster gets from `--executor ray-local`: the run starts Ray, runs, and
    leaves no Ray process behind. The code sandbox works in its tasks even with Ray's subreaper option
    on, which makes every worker ignore SIGCHLD."""
    script = tmp_path / "copy_seeds.py"
    script.write_text(COPY_SEEDS)
    before = raylets()
    token_before = (Path.home() / ".ray" / "auth_token").exists()
    args = [
        "-m",
        "cosmo_blocks.cli",
        "run",
        str(script),
        "--executor",
        "ray-local",
        "--seeds",
        str(SAMPLE_SEEDS),
    ]
    result = run_cli(*args, "--output", str(tmp_path / "out"), env=PRIVATE_ENV, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    copied = [doc for path in sorted((tmp_path / "out" / "copy").glob("*.jsonl")) for doc in read_jsonl(path)]
    assert len(copied) == len({doc["id"] for doc in copied}) == len(read_jsonl(SAMPLE_SEEDS))
    logs = tmp_path / "out" / "logs"
    assert sorted(p.name for p in (logs / "completions").iterdir()) == ["00000", "00001", "00002", "00003"]
    assert '"executor": "ray"' in (logs / "cosmo_run.json").read_text()
    assert "wall time:" in result.stdout  # the run's summary, as after a local run
    deadline = time.monotonic() + 30
    while raylets() - before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not raylets() - before, "the run's private Ray instance outlived it"
    # its token was its own: nothing in ~/.ray/auth_token turns authentication on for later clusters
    assert not (Path.home() / ".ray" / "auth_token").exists() or token_before
