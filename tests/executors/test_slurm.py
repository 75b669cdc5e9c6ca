"""SLURM arrays for real: a live one-node cluster, the real sbatch/squeue/scancel, the tiny model."""

import json
import subprocess
from pathlib import Path

import orjson
import psutil
import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.journal import iter_journal
from cosmo_blocks.run import RunOptions, run_pipeline
from cosmo_blocks.run.record import RunRecord
from tests.executors.conftest import HERE, MAX_ARRAY_SIZE, cosmo, queue_empty, wait_for

REPO = HERE.parents[1]
QUICKSTART = str(REPO / "pipelines" / "quickstart.py")
SAMPLE = str(REPO / "pipelines" / "seeds" / "sample.jsonl")

pytestmark = pytest.mark.slurm


def read_jsonl_dir(folder: Path) -> list[dict]:
    return [
        orjson.loads(line) for p in sorted(folder.rglob("*.jsonl")) for line in p.read_bytes().splitlines()
    ]


def job_ids(logdir: Path) -> list[str]:
    return [j for stage in RunRecord.read(logdir).stages for j in stage.job_ids]


def completions(folder: Path) -> int:
    return len(list((folder / "completions").glob("*"))) if (folder / "completions").is_dir() else 0


def journal_ids(logdir: Path, rank: int) -> list[str]:
    path = logdir / "journal" / f"{rank:05d}.jsonl"
    return [entry["id"] for entry in iter_journal(path)] if path.is_file() else []


def generation_stats(logdir: Path, rank: int) -> dict:
    """Totals of the generation step in one task's stats (written when the task completed)."""
    steps = json.loads((logdir / "stats" / f"{rank:05d}.json").read_text())
    stats = next(step["stats"] for step in steps if "GENERATION" in step["name"])
    return {k: v["total"] if isinstance(v, dict) else v for k, v in stats.items()}


# rank 1 of the quickstart (2 tasks: 15 seeds x 2 variants each) freezes after this many documents
FREEZE_AT = 5
PER_TASK = 30


def frozen_quickstart(out: Path, tiny_model: str, *extra: str) -> tuple[list[str], dict]:
    """The command line and environment of a quickstart run whose rank 1 freezes (steps.FreezeAfter)."""
    args = ["run", str(HERE / "frozen_quickstart.py"), "--executor", "slurm-local", "--tasks", "2"]
    args += ["--model", tiny_model, "--output", str(out), *extra]
    return args, {"FREEZE": f"1:{FREEZE_AT}:{out.parent / (out.name + '.frozen')}"}


def wait_frozen(out: Path) -> int:
    """The pid of rank 1 once it has stopped itself after FREEZE_AT documents."""
    marker = out.parent / (out.name + ".frozen")

    def frozen():
        if not marker.is_file():
            return None
        pid = int(marker.read_text())
        assert psutil.pid_exists(pid), "the task that froze is gone"
        return pid if psutil.Process(pid).status() == psutil.STATUS_STOPPED else None

    return wait_for(frozen, 300, f"rank 1 to freeze after {FREEZE_AT} documents", 0.2)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def assert_resumed_not_regenerated(logdir: Path, journaled: list[str]) -> None:
    """Rank 1's rerun took every journaled document from the journal and generated only the rest."""
    assert FREEZE_AT <= len(journaled) < PER_TASK and len(set(journaled)) == len(journaled)
    stats = generation_stats(logdir, 1)
    assert stats.get("resumed_from_journal", 0) == len(journaled)
    assert stats.get("generated", 0) == PER_TASK - len(journaled)
    final = journal_ids(logdir, 1)
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
    assert "#SBATCH --array=0-100%2" in res.stdout  # 250 tasks > MaxArraySize 101: three arrays
    assert "3 array job(s)" in res.stdout
    assert "#SBATCH --time=0:05:00" in res.stdout and "--kill-on-invalid-dep=yes" in res.stdout
    assert "VLLM_CPU_KVCACHE_SPACE" in res.stdout and "launch_pickled_pipeline" in res.stdout
    assert queue_empty()


def test_quickstart_array_with_tiny_model_and_status(slurm_cluster, tiny_model, tmp_path):
    out = tmp_path / "qs"
    args = ["run", QUICKSTART, "--executor", "slurm-local", "--tasks", "4", "--limit", "2"]
    res = cosmo(*args, "--model", tiny_model, "--output", str(out))
    assert res.returncode == 0, res.stderr
    logdir = out / "logs"
    ids = job_ids(logdir)
    assert len(ids) == 1
    wait_for(lambda: queue_empty(ids), 400, "the 4-task quickstart array")
    assert completions(logdir) == 4, (logdir / "slurm_logs").glob("*")
    # 30 seeds in one file, 4 tasks: record sharding, 2 seeds per task (--limit 2) x 2 prompt variants
    kept, rejected = read_jsonl_dir(out / "data"), read_jsonl_dir(out / "rejects")
    docs = kept + rejected
    assert len(docs) == 16 and len({d["id"] for d in docs}) == 16
    assert all(d["text"] and d["token_length"] > 0 and d["prompt"] for d in docs)
    assert {d["model"] for d in docs} == {tiny_model}
    status = cosmo("status", str(logdir))
    assert status.returncode == 0, status.stderr
    print(status.stdout)
    assert "4 tasks: 4 completed, 0 failed, 0 running, 0 pending" in status.stdout
    tokens = sum(d["token_length"] for d in docs)
    assert f"generated: 16 documents, {tokens} tokens" in status.stdout
    assert f"kept: {len(kept)}, dropped: {len(rejected)}" in status.stdout
    assert "engine start: " in status.stdout and "(4 engine(s))" in status.stdout
    assert "generated tokens/s per engine, start-up excluded" in status.stdout
    assert "ETA done" in status.stdout


def test_cancelled_task_resumes_from_journal(slurm_cluster, tiny_model, tmp_path):
    out = tmp_path / "cancel"
    logdir = out / "logs"
    args, env = frozen_quickstart(out, tiny_model)
    res = cosmo(*args, env=env)
    assert res.returncode == 0, res.stderr
    (job,) = job_ids(logdir)
    pid = wait_frozen(out)
    subprocess.run(["scancel", f"{job}_1"], check=True)
    wait_for(lambda: queue_empty([job]) and gone(pid), 300, "the array to end")
    assert (logdir / "completions" / "00000").exists()
    assert not (logdir / "completions" / "00001").exists()
    journaled = journal_ids(logdir, 1)

    status = cosmo("status", str(logdir))
    assert "1 completed, 1 failed" in status.stdout, status.stdout

    res = cosmo(*args, env=env)  # the same command again
    assert res.returncode == 0, res.stderr
    (job2,) = job_ids(logdir)
    assert job2 != job
    assert json.loads((logdir / "ranks_to_run.json").read_text()) == [1]
    wait_for(lambda: queue_empty([job2]), 300, "the resubmitted task")
    assert completions(logdir) == 2
    assert_resumed_not_regenerated(logdir, journaled)
    docs = read_jsonl_dir(out / "data") + read_jsonl_dir(out / "rejects")
    ids = [d["id"] for d in docs]
    assert len(ids) == 2 * PER_TASK and len(set(ids)) == 2 * PER_TASK  # 30 seeds x 2 variants, once each


def test_requeued_task_resumes_from_journal(slurm_cluster, tiny_model, tmp_path):
    """What preemption with `requeue = true` does: SLURM kills the running task and queues it again."""
    out = tmp_path / "requeue"
    logdir = out / "logs"
    args, env = frozen_quickstart(out, tiny_model, "--set", "requeue=true")
    res = cosmo(*args, env=env)
    assert res.returncode == 0, res.stderr
    (job,) = job_ids(logdir)
    pid = wait_frozen(out)
    subprocess.run(["scontrol", "requeue", f"{job}_1"], check=True)
    # SLURM holds a requeued job back for about two minutes (BeginTime): read what the killed run
    # journaled before releasing it (an admin may release it at once)
    wait_for(lambda: gone(pid), 120, "the requeued task's first run to be killed")
    journaled = journal_ids(logdir, 1)
    wait_for(lambda: release_now(f"{job}_1"), 60, "the requeued task to be released")
    wait_for(lambda: queue_empty([job]), 300, "the requeued array to end")

    assert completions(logdir) == 2
    assert_resumed_not_regenerated(logdir, journaled)
    docs = read_jsonl_dir(out / "data") + read_jsonl_dir(out / "rejects")
    ids = [d["id"] for d in docs]
    assert len(ids) == 2 * PER_TASK and len(set(ids)) == 2 * PER_TASK  # 30 seeds x 2 variants, once each


def release_now(job: str) -> bool:
    return subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"]).returncode == 0


def test_more_than_1000_tasks_split_over_arrays(slurm_cluster, tmp_path):
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(
        "".join(json.dumps({"id": f"s{i}", "text": f"seed number {i}"}) + "\n" for i in range(1010))
    )
    out = tmp_path / "many"
    # 1,005 datatrove tasks, 8 per array element: 126 elements > MaxArraySize 101, so two arrays
    res = cosmo(
        "run", str(HERE / "many_tasks.py"), "--executor", "slurm-local", "--tasks", "1005", "--workers", "16",
        "--seeds", str(seeds), "--output", str(out), "--set", "tasks_per_job=8",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    ids = job_ids(out / "logs")
    assert len(ids) == 2 == -(-126 // MAX_ARRAY_SIZE)
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
