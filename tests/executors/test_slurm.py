"""SLURM arrays for real: a live one-node cluster, the real sbatch/squeue/scancel, the tiny model."""

import json
import subprocess
from pathlib import Path

import psutil
import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions, run_pipeline
from cosmo_blocks.run.record import RunRecord
from tests.executors.conftest import (
    HERE,
    MAX_ARRAY_SIZE,
    cosmo,
    generation_stats,
    gone,
    journal_ids,
    queue_empty,
    read_jsonl_dir,
    wait_for,
)

REPO = HERE.parents[1]
SAMPLE = str(REPO / "pipelines" / "seeds" / "sample.jsonl")

pytestmark = pytest.mark.slurm


def job_ids(logdir: Path) -> list[str]:
    return [j for stage in RunRecord.read(logdir).stages for j in stage.job_ids]


def completions(folder: Path) -> int:
    return len(list((folder / "completions").glob("*"))) if (folder / "completions").is_dir() else 0


# both ranks of the quickstart (2 tasks: 15 seeds x 2 variants each) freeze after this many documents
FREEZE_AT = 5
PER_TASK = 30


def frozen_quickstart(out: Path, tiny_model: str, *extra: str) -> tuple[list[str], dict]:
    """The command line and environment of a quickstart run whose two ranks freeze (steps.FreezeAfter)."""
    args = ["run", str(HERE / "frozen_quickstart.py"), "--executor", "slurm-local", "--tasks", "2"]
    args += ["--model", tiny_model, "--output", str(out), *extra]
    return args, {"FREEZE": f"0,1:{FREEZE_AT}:{out.parent / (out.name + '.frozen')}"}


def wait_frozen(out: Path, rank: int) -> int:
    """The pid of `rank` once it has stopped itself after FREEZE_AT documents."""
    marker = out.parent / f"{out.name}.frozen.{rank}"

    def frozen():
        if not marker.is_file():
            return None
        pid = int(marker.read_text())
        assert psutil.pid_exists(pid), f"rank {rank}, which froze, is gone"
        return pid if psutil.Process(pid).status() == psutil.STATUS_STOPPED else None

    return wait_for(frozen, 300, f"rank {rank} to freeze after {FREEZE_AT} documents", 0.2)


def held_for_begin_time(job: str) -> bool:
    res = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T %r"], capture_output=True, text=True)
    return res.stdout.split() == ["PENDING", "BeginTime"]


def assert_resumed_not_regenerated(logdir: Path, rank: int, journaled: list[str]) -> None:
    """The rank's rerun took every journaled document from the journal and generated only the rest."""
    assert FREEZE_AT <= len(journaled) < PER_TASK and len(set(journaled)) == len(journaled)
    stats = generation_stats(logdir, rank)
    assert stats.get("resumed_from_journal", 0) == len(journaled)
    assert stats.get("generated", 0) == PER_TASK - len(journaled)
    final = journal_ids(logdir, rank)
    assert final[: len(journaled)] == journaled  # appended to, not rewritten
    assert len(final) == len(set(final)) == PER_TASK  # each document journaled exactly once


def test_preset_errors_before_submission(slurm_cluster, tmp_path):
    typo = tmp_path / "slurm-typo.toml"
    typo.write_text('executor = "slurm"\npartition = "debug"\ntime = "1:00"\ngpus_per_tsak = 2\n')
    with pytest.raises(ValueError, match="unknown key 'gpus_per_tsak'.*did you mean 'gpus_per_task'"):
        RunOptions(executor=str(typo), output=str(tmp_path / "o"))

    def build(opts):
        return []

    opts = RunOptions(executor="slurm-local", output=str(tmp_path / "o"), partition="nosuch")
    with pytest.raises(ConfigError, match="partition 'nosuch' does not exist.*debug"):
        run_pipeline(build, opts)
    assert not (tmp_path / "o" / "logs" / "cosmo_run.json").exists()


def test_missing_sbatch_fails_before_submission(tmp_path):
    # `cosmo run` on a machine without SLURM's client, for real: nothing named sbatch on its PATH
    res = cosmo(
        "run", str(HERE / "many_tasks.py"), "--executor", "slurm-local", "--seeds", SAMPLE,
        "--output", str(tmp_path / "o"), env={"PATH": str(tmp_path)},
    )  # fmt: skip
    assert res.returncode != 0
    assert "sbatch not found" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "logs" / "cosmo_run.json").exists()


def test_dry_run_prints_script_and_submits_nothing(slurm_cluster, tmp_path):
    res = cosmo(
        "run", str(HERE / "many_tasks.py"), "--executor", "slurm-local", "--tasks", "250", "--seeds", SAMPLE,
        "--output", str(tmp_path / "o"), "--time", "0:05:00", "--set", "cpus_per_task=1", "--dry-run",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert f"#SBATCH --array=0-{MAX_ARRAY_SIZE - 1}%2" in res.stdout  # 250 tasks > MaxArraySize
    assert f"{-(-250 // MAX_ARRAY_SIZE)} array job(s)" in res.stdout
    assert "#SBATCH --time=0:05:00" in res.stdout and "--kill-on-invalid-dep=yes" in res.stdout
    assert "VLLM_CPU_KVCACHE_SPACE" in res.stdout and "launch_pickled_pipeline" in res.stdout
    assert queue_empty()


def test_quickstart_array_resumes_cancelled_and_requeued_tasks_and_reports_status(
    slurm_cluster, tiny_model, tmp_path
):
    """The quickstart as a 2-task array with the tiny model, and two ways a task dies mid-run, one per
    rank, both frozen mid-generation: rank 0 cancelled (the same command run again resubmits it
    alone), rank 1 requeued as preemption with `requeue = true` does (SLURM kills the running task and
    queues it again itself). Then `cosmo status` of the finished run (one array run serves all three:
    every task's engine start costs tens of seconds)."""
    out = tmp_path / "frozen"
    logdir = out / "logs"
    args, env = frozen_quickstart(out, tiny_model, "--set", "requeue=true")
    res = cosmo(*args, env=env)
    assert res.returncode == 0, res.stderr
    (job,) = job_ids(logdir)
    cancelled, requeued = wait_frozen(out, 0), wait_frozen(out, 1)
    subprocess.run(["scancel", f"{job}_0"], check=True)
    subprocess.run(["scontrol", "requeue", f"{job}_1"], check=True)
    wait_for(lambda: gone(cancelled) and gone(requeued), 120, "both tasks' first runs to be killed")
    journaled = {rank: journal_ids(logdir, rank) for rank in (0, 1)}
    # once its first run has ended, SLURM queues the requeued task again but holds it back for about
    # two minutes (BeginTime); release it then, as an admin may (released earlier, the hold still comes)
    wait_for(lambda: held_for_begin_time(f"{job}_1"), 120, "rank 1 to be queued again, held")
    subprocess.run(["scontrol", "update", f"JobId={job}_1", "StartTime=now"], check=True)
    wait_for(lambda: queue_empty([job]), 300, "the array to end")
    assert not (logdir / "completions" / "00000").exists()
    assert completions(logdir) == 1  # the requeued rank, within the same array job
    assert_resumed_not_regenerated(logdir, 1, journaled[1])

    status = cosmo("status", str(logdir))
    assert "1 completed, 1 failed" in status.stdout, status.stdout

    res = cosmo(*args, env=env)  # the same command again
    assert res.returncode == 0, res.stderr
    (job2,) = job_ids(logdir)
    assert job2 != job
    assert json.loads((logdir / "ranks_to_run.json").read_text()) == [0]
    wait_for(lambda: queue_empty([job2]), 300, "the resubmitted task")
    assert completions(logdir) == 2
    assert_resumed_not_regenerated(logdir, 0, journaled[0])
    # 30 seeds in one file, 2 tasks: record sharding, 15 seeds per task x 2 prompt variants, once each
    kept, rejected = read_jsonl_dir(out / "data"), read_jsonl_dir(out / "rejects")
    docs = kept + rejected
    ids = [d["id"] for d in docs]
    assert len(ids) == 2 * PER_TASK and len(set(ids)) == 2 * PER_TASK
    assert all(d["text"] and d["token_length"] > 0 and d["prompt"] for d in docs)
    assert {d["model"] for d in docs} == {tiny_model}

    status = cosmo("status", str(logdir))
    assert status.returncode == 0, status.stderr
    print(status.stdout)
    assert "2 tasks: 2 completed, 0 failed, 0 running, 0 pending" in status.stdout
    tokens = sum(d["token_length"] for d in docs)
    assert f"generated: {2 * PER_TASK} documents, {tokens} tokens" in status.stdout
    assert f"kept: {len(kept)}, dropped: {len(rejected)}" in status.stdout
    # the engines of the completed runs (a killed run writes no stats)
    assert "engine start: " in status.stdout and "(2 engine(s))" in status.stdout
    assert "generated tokens/s per engine, start-up excluded" in status.stdout
    assert "ETA done" in status.stdout


def test_more_than_1000_tasks_split_over_arrays(slurm_cluster, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        "".join(json.dumps({"id": f"s{i}", "text": f"seed number {i}"}) + "\n" for i in range(1010))
    )
    out = tmp_path / "many"
    # 1,005 datatrove tasks, 40 per array element: 26 elements > MaxArraySize 21, so two arrays
    res = cosmo(
        "run", str(HERE / "many_tasks.py"), "--executor", "slurm-local", "--tasks", "1005", "--workers", "16",
        "--seeds", str(seeds), "--output", str(out), "--set", "tasks_per_job=40",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    ids = job_ids(out / "logs")
    assert len(ids) == 2 == -(-26 // MAX_ARRAY_SIZE)
    wait_for(lambda: queue_empty(ids), 400, "1,005 trivial tasks", interval=2)
    assert completions(out / "logs") == 1005
    written = list((out / "data").glob("*.jsonl"))
    assert len(written) == 1005  # every task received work (record-level sharding of one file)
    assert sorted(d["id"] for d in read_jsonl_dir(out / "data")) == sorted(f"s{i}" for i in range(1010))


def test_two_stages_second_waits_for_first(slurm_cluster, tmp_path):
    out = tmp_path / "two"
    args = ["run", str(HERE / "two_stage.py"), "--executor", "slurm-local", "--seeds", SAMPLE]
    res = cosmo(*args, "--output", str(out), "--workers", "4", env={"STAGE1_DELAY": "3"})
    assert res.returncode == 0, res.stderr
    copy, merge = RunRecord.read(out / "logs").stages
    assert merge.depends_on == ":".join(copy.job_ids)
    state = subprocess.run(
        ["squeue", "-h", "-j", merge.job_ids[0], "-o", "%T %E"], capture_output=True, text=True
    )
    assert state.stdout.startswith("PENDING afterok:"), state.stdout
    wait_for(lambda: queue_empty(copy.job_ids + merge.job_ids), 300, "both stages")
    copy_done = max(p.stat().st_mtime for p in (out / "logs" / "copy" / "completions").glob("*"))
    merge_log = out / "logs" / "merge" / "logs" / "task_00000.log"
    assert merge_log.stat().st_ctime >= copy_done
    merged = read_jsonl_dir(out / "merged")
    assert len(merged) == 30


def test_failed_first_stage_is_reported_not_left_pending(slurm_cluster, tmp_path):
    out = tmp_path / "fail"
    args = ["run", str(HERE / "two_stage.py"), "--executor", "slurm-local", "--seeds", SAMPLE]
    res = cosmo(*args, "--output", str(out), "--workers", "4", env={"FAIL_RANK": "2"})
    assert res.returncode == 0, res.stderr
    ids = job_ids(out / "logs")
    # kill-on-invalid-dep: the merge stage is cancelled, not PENDING (DependencyNeverSatisfied) forever
    wait_for(lambda: queue_empty(ids), 300, "stage 1 to fail and stage 2 to be cancelled")
    status = cosmo("status", str(out / "logs"))
    print(status.stdout)
    assert "stage copy: 4 tasks: 3 completed, 1 failed" in status.stdout
    assert "injected failure in rank 2" in status.stdout
    assert "later stage(s) merge cannot start" in status.stdout
    assert not (out / "merged").exists()
