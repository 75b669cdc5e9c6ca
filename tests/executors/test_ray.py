"""The Ray executor for real: a live one-node Ray cluster (ray_cluster.py), real actors, the tiny model."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from ray_cluster import free_port

from tests.executors.conftest import (
    HERE,
    cosmo,
    generation_stats,
    gone,
    journal_ids,
    read_jsonl_dir,
    wait_for,
)

REPO = HERE.parents[1]
SAMPLE = str(REPO / "pipelines" / "seeds" / "sample.jsonl")
TWO_STAGE = ["run", str(HERE / "two_stage.py"), "--executor", "ray-local", "--seeds", SAMPLE]
FREEZE_AT = 5
LIMIT = 4  # seeds per task: enough documents for a kill mid-generation, few to decode on 2 cores
PROMPTS = 4 * LIMIT * 2  # 4 tasks x LIMIT seeds x 2 prompt variants

pytestmark = pytest.mark.ray


def on(cluster) -> dict:
    return {"RAY_ADDRESS": cluster.address}


def frozen_quickstart(out: Path) -> tuple[list[str], dict]:
    """The 4-task quickstart on Ray whose ranks 1 and 3 stop themselves mid-generation."""
    args = ["run", str(HERE / "frozen_quickstart.py"), "--executor", "ray-local", "--tasks", "4"]
    args += ["--workers", "2", "--limit", str(LIMIT), "--model", "tiny", "--output", str(out)]
    return args, {"FREEZE": f"1,3:{FREEZE_AT}:{out.parent / 'frozen'}"}


def start_cosmo(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    """`cosmo ...` in the background (the driver a test kills), output to `log`."""
    python_path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    full_env = os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": python_path} | env
    with open(log, "w") as f:
        return subprocess.Popen(
            [sys.executable, "-m", "cosmo_blocks.cli", *args],
            stdout=f,
            stderr=subprocess.STDOUT,
            env=full_env,
        )


def wait_frozen(out: Path, rank: int, driver: subprocess.Popen, log: Path) -> int:
    """The pid of `rank` once it has stopped itself after FREEZE_AT documents."""
    marker = out.parent / f"frozen.{rank}"

    def frozen():
        assert driver.poll() is None, f"the run ended (rc {driver.returncode}):\n{log.read_text()[-3000:]}"
        if not marker.is_file():
            return None
        pid = int(marker.read_text())
        assert psutil.pid_exists(pid), f"rank {rank}, which froze, is gone"
        return pid if psutil.Process(pid).status() == psutil.STATUS_STOPPED else None

    return wait_for(frozen, 400, f"rank {rank} to freeze after {FREEZE_AT} documents", 0.2)


def rank_total(out: Path, rank: int) -> int:
    """Documents the rank wrote, kept and dropped (`${rank}.jsonl` of every writer)."""
    files = [*(out / "data").rglob(f"{rank:05d}.jsonl"), *(out / "rejects").rglob(f"{rank:05d}.jsonl")]
    return sum(len(p.read_bytes().splitlines()) for p in files)


def assert_resumed_not_regenerated(out: Path, rank: int, journaled: list[str]) -> dict:
    """The rank's rerun took every journaled document from the journal and generated only the rest."""
    logdir, total = out / "logs", rank_total(out, rank)
    assert FREEZE_AT <= len(journaled) < total and len(set(journaled)) == len(journaled)
    stats = generation_stats(logdir, rank)
    assert stats.get("resumed_from_journal", 0) == len(journaled)
    assert stats.get("generated", 0) == total - len(journaled)
    final = journal_ids(logdir, rank)
    assert final[: len(journaled)] == journaled  # appended to, not rewritten
    assert len(final) == len(set(final)) == total  # each document journaled exactly once
    return {"journaled at kill": len(journaled), **stats, "total": total}


def engine_children(pid: int) -> list[int]:
    return [child.pid for child in psutil.Process(pid).children(recursive=True)]


def mtimes(paths) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in paths}


def test_dry_run_prints_plan_and_starts_nothing(ray_cluster, tmp_path):
    out = tmp_path / "dry"
    args = ["run", "quickstart", "--executor", "ray-local", "--model", "tiny", "--output", str(out)]
    res = cosmo(*args, "--dry-run", env=on(ray_cluster))
    assert res.returncode == 0, res.stderr
    assert f"ray cluster: {ray_cluster.address} (from RAY_ADDRESS)" in res.stdout, res.stdout
    assert "4 of 4 tasks to run, up to 2 at once; each task: 1 CPU, 0 GPU, 1 GiB" in res.stdout
    logdir = out / "logs"
    assert not (logdir / "cosmo_run.json").exists()
    assert not list(logdir.rglob("task_*.log"))


def test_unreachable_cluster_fails_before_start(tmp_path):
    out = tmp_path / "o"
    closed = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    res = cosmo(*TWO_STAGE, "--output", str(out), env={"RAY_ADDRESS": closed}, timeout=60)
    assert time.monotonic() - start < 30
    assert res.returncode != 0
    assert f"cannot reach the Ray cluster at {closed}" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
    assert not (out / "logs" / "cosmo_run.json").exists()


def test_task_no_node_can_hold_fails_before_start(ray_cluster, tmp_path):
    out = tmp_path / "big"
    start = time.monotonic()
    res = cosmo(
        *TWO_STAGE, "--output", str(out), "--set", "cpus_per_task=64", env=on(ray_cluster), timeout=60
    )
    assert time.monotonic() - start < 30
    assert res.returncode != 0
    message = res.stderr + res.stdout
    assert "a task needs CPU 64" in message and "the largest: CPU 2, GPU 0" in message, message
    assert "Traceback" not in res.stderr
    assert not (out / "logs" / "cosmo_run.json").exists()


def test_two_stages_in_order(ray_cluster, tmp_path):
    out = tmp_path / "two"
    res = cosmo(*TWO_STAGE, "--output", str(out), env=on(ray_cluster))
    assert res.returncode == 0, res.stderr
    copy_done = max(p.stat().st_mtime for p in (out / "logs" / "copy" / "completions").glob("*"))
    assert len(list((out / "logs" / "copy" / "completions").glob("*"))) == 4
    merge_log = out / "logs" / "merge" / "logs" / "task_00000.log"
    assert merge_log.stat().st_ctime >= copy_done
    assert len(read_jsonl_dir(out / "merged")) == 30


def test_failed_first_stage_stops_the_run(ray_cluster, tmp_path):
    out = tmp_path / "fail"
    res = cosmo(*TWO_STAGE, "--output", str(out), env=on(ray_cluster) | {"FAIL_RANK": "2"})
    assert res.returncode != 0
    assert "stage 'copy': 1 task(s) did not complete" in res.stderr + res.stdout, res.stderr
    assert not (out / "merged").exists()
    status = cosmo("status", str(out / "logs"))
    assert "stage copy: 4 tasks: 3 completed, 1 failed" in status.stdout, status.stdout
    assert "injected failure in rank 2" in status.stdout


@pytest.mark.engine
def test_killed_task_and_killed_driver_resume(ray_cluster, tmp_path):
    """The 4-task quickstart, two ranks frozen mid-generation: rank 1's actor SIGKILLed (datatrove
    resubmits it within the run, and it resumes from its journal), then the driver SIGKILLed while
    rank 3 is frozen (its actor dies with it; the same command again runs rank 3 alone)."""
    out, log = tmp_path / "frozen", tmp_path / "driver.log"
    logdir = out / "logs"
    args, env = frozen_quickstart(out)
    env |= on(ray_cluster)
    driver = start_cosmo(args, env, log)
    try:
        journaled = {1: kill_task(out, 1, driver, log)}
        journaled[3] = kill_driver(out, driver, log)
    finally:
        driver.kill()
        driver.wait()

    dry = cosmo(*args, "--dry-run", env=env)
    assert "1 of 4 tasks to run" in dry.stdout, dry.stdout + dry.stderr
    before = mtimes(
        p for r in range(3) for p in (logdir / "completions" / f"{r:05d}", logdir / "stats" / f"{r:05d}.json")
    )
    res = cosmo(*args, env=env)
    assert res.returncode == 0, res.stderr
    assert mtimes(Path(p) for p in before) == before  # ranks 0-2 did not run again
    counts = {rank: assert_resumed_not_regenerated(out, rank, journaled[rank]) for rank in (1, 3)}

    ids = [d["id"] for d in read_jsonl_dir(out / "data") + read_jsonl_dir(out / "rejects")]
    assert len(ids) == len(set(ids)) == PROMPTS
    status = cosmo("status", str(logdir))
    assert "4 tasks: 4 completed" in status.stdout, status.stdout

    outputs = mtimes([*(out / "data").rglob("*.jsonl"), *(out / "rejects").rglob("*.jsonl")])
    third = cosmo(*args, env=env)
    assert third.returncode == 0, third.stderr
    assert mtimes(Path(p) for p in outputs) == outputs  # nothing generated or rewritten
    print(f"\nkill test counts: {counts}\nunique ids: {len(set(ids))}\n{status.stdout}")


def kill_task(out: Path, rank: int, driver: subprocess.Popen, log: Path) -> list[str]:
    """SIGKILL the frozen rank's Ray actor (the task runs in the actor itself); its engine goes with it."""
    pid = wait_frozen(out, rank, driver, log)
    process = psutil.Process(pid)
    title, parent = (" ".join(p.cmdline()).strip() for p in (process, process.parent()))
    # a process forked from the actor (datatrove's pool) has the actor's title too, but not its parent
    assert title.startswith("ray::") and not parent.startswith("ray::"), (
        f"rank {rank} runs in {title!r}, a child of {parent!r}, not in its Ray actor"
    )
    children = engine_children(pid)
    assert children, "the frozen task has no engine process"
    journaled = journal_ids(out / "logs", rank)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(gone(p) for p in [pid, *children]), 20, "the killed actor's engine processes")
    return journaled


def kill_driver(out: Path, driver: subprocess.Popen, log: Path) -> list[str]:
    """SIGKILL `cosmo run` while rank 3 is frozen and the others completed: its actors die with it."""
    pid = wait_frozen(out, 3, driver, log)
    done = [out / "logs" / "completions" / f"{r:05d}" for r in range(3)]
    wait_for(lambda: all(p.exists() for p in done), 300, "ranks 0-2 to complete")
    children = engine_children(pid)
    journaled = journal_ids(out / "logs", 3)
    driver.kill()
    driver.wait()
    wait_for(
        lambda: all(gone(p) for p in [pid, *children]), 60, "rank 3's actor and engine, after the driver"
    )
    return journaled
