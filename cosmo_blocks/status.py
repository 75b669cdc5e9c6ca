"""`cosmo status LOGDIR`: where a run stands, from its logging folder (and squeue when there is one).

A task is
- completed: datatrove wrote `completions/{rank:05d}`;
- running / pending: squeue lists it (SLURM runs, job ids from `cosmo_run.json`);
- failed: it started (has a task log) and is neither completed nor queued; for a local run (no
  squeue) a task whose log has an ERROR line; its log tail is printed;
- started: local run, has a log, no error and no completion (running, or killed without a trace);
- not started: none of the above.

Documents and tokens come from the generation journals (`journal/*.jsonl`, one line per finished
generation); the rate is measured from the first task's start (its log's first timestamp) to the
newest journal write; the ETA needs a total: `--total` documents, or an estimate from completed
tasks (their mean documents per task times the number of tasks).
"""

import glob
import json
import os
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass
class TaskState:
    rank: int
    state: str
    detail: str = ""
    log_tail: str = ""


@dataclass
class StageStatus:
    name: str
    path: Path
    tasks: int
    job_ids: list = field(default_factory=list)
    states: list[TaskState] = field(default_factory=list)
    queue_note: str = ""

    def count(self) -> Counter:
        return Counter(t.state for t in self.states)


@dataclass
class JournalTotals:
    documents: int = 0
    tokens: int = 0
    prompt_tokens: int = 0
    per_rank: dict = field(default_factory=dict)
    first_write: float | None = None
    last_write: float | None = None


# ---------------------------------------------------------------------------------------------
# reading the folder


def find_stages(logdir: Path) -> list[tuple[str, Path, dict]]:
    """(name, folder, record) per stage: from cosmo_run.json if a SLURM submission wrote one."""
    record_file = logdir / "cosmo_run.json"
    if record_file.is_file():
        record = json.loads(record_file.read_text())
        return [(s["name"], Path(s["logging_dir"]), s) for s in record["stages"]]
    if (logdir / "executor.json").is_file():
        return [("main", logdir, {})]
    subdirs = sorted(
        (p for p in logdir.iterdir() if (p / "executor.json").is_file()), key=lambda p: p.stat().st_mtime
    )
    return [(p.name, p, {}) for p in subdirs]


def stage_tasks(folder: Path, record: dict) -> int:
    if record.get("tasks"):
        return int(record["tasks"])
    try:
        return int(json.loads((folder / "executor.json").read_text())["world_size"])
    except (OSError, KeyError, ValueError):
        return 0


def _read_end(path: Path, max_bytes: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def log_tail(path: Path, lines: int = 15) -> str:
    return "\n".join(_read_end(path, 16384).splitlines()[-lines:])


def _log_has_error(path: Path) -> bool:
    # loguru's exception report prints every frame's variables: the ERROR line can be far from the end
    end = _read_end(path, 1 << 20)
    return "| ERROR " in end or "Traceback (most recent call last)" in end


def first_timestamp(path: Path) -> float | None:
    try:
        with open(path, errors="replace") as f:
            head = f.readline()[:23]
        return datetime.strptime(head, LOG_TIME_FORMAT).timestamp()
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# the queue


def squeue_states(job_ids: list[str]) -> dict[tuple[str, int], tuple[str, str]] | None:
    """{(job id, array index): (state, reason)} for the given array jobs; None without squeue."""
    if not job_ids or not shutil.which("squeue"):
        return None
    res = subprocess.run(
        ["squeue", "-h", "-r", "-j", ",".join(job_ids), "-o", "%F|%K|%T|%r"],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        # squeue -j with ids the controller forgot (MinJobAge passed) fails: those jobs are over
        if "Invalid job id" in res.stderr:
            return {}
        return None
    states = {}
    for line in res.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4:
            continue
        job, index, state, reason = parts
        try:
            states[(job, int(index))] = (state, reason)
        except ValueError:
            continue  # a not-yet-expanded pending range is listed per element with -r; skip oddities
    return states


def _rank_of(record: dict, folder: Path) -> dict[tuple[str, int], list[int]]:
    """(job id, array index) -> datatrove ranks, as datatrove maps them (RUN_OFFSET, tasks_per_job)."""
    try:
        ranks = json.loads((folder / "ranks_to_run.json").read_text())
    except (OSError, ValueError):
        return {}
    size, per_job = record.get("max_array_size", 1001), record.get("tasks_per_job", 1)
    mapping = {}
    for offset, job in enumerate(record.get("job_ids", [])):
        for index in range(size):
            first = (index + size * offset) * per_job
            if first >= len(ranks):
                break
            mapping[(job, index)] = ranks[first : first + per_job]
    return mapping


# ---------------------------------------------------------------------------------------------
# putting it together


def stage_status(name: str, folder: Path, record: dict, tail_lines: int = 15) -> StageStatus:
    tasks = stage_tasks(folder, record)
    job_ids = [str(j) for j in record.get("job_ids", [])]
    status = StageStatus(name, folder, tasks, job_ids)
    completions = (
        {p.name for p in (folder / "completions").glob("*")} if (folder / "completions").is_dir() else set()
    )
    queued: dict[int, tuple[str, str]] = {}
    queue = squeue_states(job_ids)
    if queue:
        mapping = _rank_of(record, folder)
        for key, (state, reason) in queue.items():
            for rank in mapping.get(key, []):
                queued[rank] = (state, reason)
        never = [r for r in queue.values() if "DependencyNeverSatisfied" in r[1]]
        if never:
            status.queue_note = (
                f"{len(never)} task(s) wait on a dependency that can never be satisfied (a task of the "
                "previous stage failed): fix it and run the same command again, then `scancel` these"
            )
    for rank in range(tasks):
        log = folder / "logs" / f"task_{rank:05d}.log"
        if f"{rank:05d}" in completions:
            status.states.append(TaskState(rank, "completed"))
        elif rank in queued:
            state, reason = queued[rank]
            if state in ("RUNNING", "COMPLETING"):
                status.states.append(TaskState(rank, "running"))
            else:
                status.states.append(TaskState(rank, "pending", f"{state.lower()} ({reason})"))
        elif log.is_file():
            # off the queue (or no queue to ask) and not completed: it failed, was cancelled or killed
            failed = bool(queue is not None and job_ids) or _log_has_error(log)
            tail = log_tail(log, tail_lines)
            slurm_tail = _slurm_log_tail(folder, record, rank, tail_lines)
            if slurm_tail:
                tail = f"{tail}\n--- slurm log\n{slurm_tail}"
            status.states.append(
                TaskState(rank, "failed" if failed else "started", "", tail if failed else "")
            )
        else:
            status.states.append(TaskState(rank, "not started"))
    return status


def _slurm_log_tail(folder: Path, record: dict, rank: int, lines: int) -> str:
    """The SLURM output of the array element that ran this rank (cancellations, OOM kills show here)."""
    for (job, index), ranks in _rank_of(record, folder).items():
        if rank in ranks:
            path = folder / "slurm_logs" / f"{job}_{index}.out"
            return log_tail(path, lines) if path.is_file() else ""
    return ""


def journal_totals(logdir: Path) -> JournalTotals:
    totals = JournalTotals()
    paths = glob.glob(str(logdir / "journal" / "*.jsonl")) + glob.glob(
        str(logdir / "*" / "journal" / "*.jsonl")
    )
    for path in sorted(set(paths)):
        docs = 0
        with open(path, "rb") as f:
            for line in f:
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue  # a torn last line: the task died mid-write
                docs += 1
                totals.tokens += int(entry.get("token_length") or 0)
                totals.prompt_tokens += int(entry.get("prompt_tokens") or 0)
        totals.documents += docs
        totals.per_rank[Path(path).stem] = docs
        mtime = os.path.getmtime(path)
        totals.last_write = max(totals.last_write or mtime, mtime)
    return totals


def run_start(stages: list[StageStatus]) -> float | None:
    starts = [
        t
        for s in stages
        for p in (s.path / "logs").glob("task_*.log")
        if (t := first_timestamp(p)) is not None
    ]
    return min(starts) if starts else None


def collect(logdir: str | Path, tail_lines: int = 15) -> tuple[list[StageStatus], JournalTotals]:
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise FileNotFoundError(f"no logging folder at {logdir}")
    stages = [stage_status(n, f, r, tail_lines) for n, f, r in find_stages(logdir)]
    if not stages:
        raise FileNotFoundError(f"{logdir} holds no run (no executor.json, cosmo_run.json or stage folders)")
    return stages, journal_totals(logdir)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def render(
    logdir: str | Path, total: int | None = None, tail_lines: int = 15, now: float | None = None
) -> str:
    stages, journal = collect(logdir, tail_lines)
    now = now or time.time()
    out = [f"run: {logdir}"]
    for stage in stages:
        counts = stage.count()
        order = ("completed", "failed", "running", "pending", "started", "not started")
        summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in order if counts.get(k) or k in order[:4])
        jobs = f"  jobs {','.join(stage.job_ids)}" if stage.job_ids else ""
        out.append(f"stage {stage.name}: {stage.tasks} tasks: {summary}{jobs}")
        if stage.queue_note:
            out.append(f"  !! {stage.queue_note}")
        failed = [t for t in stage.states if t.state == "failed"]
        for task in failed[:10]:
            out.append(f"  task {task.rank} FAILED; log tail ({stage.path}/logs/task_{task.rank:05d}.log):")
            out.extend("    " + line for line in task.log_tail.splitlines())
        if len(failed) > 10:
            out.append(f"  ... and {len(failed) - 10} more failed tasks")
        pending = [t for t in stage.states if t.state == "pending"]
        if pending:
            out.append(
                f"  pending: {pending[0].detail}"
                + (f" (+{len(pending) - 1} more)" if len(pending) > 1 else "")
            )
        if failed and stage is not stages[-1]:
            later = [s.name for s in stages[stages.index(stage) + 1 :]]
            out.append(
                f"  !! later stage(s) {', '.join(later)} cannot start until these tasks complete: "
                "run the same command again (it resubmits only unfinished tasks)"
            )
    out.append(
        f"generated: {journal.documents} documents, {journal.tokens} tokens "
        f"({journal.prompt_tokens} prompt tokens) in {len(journal.per_rank)} task journal(s)"
    )
    start = run_start(stages)
    end = journal.last_write
    if start and end and end > start and journal.documents:
        elapsed = end - start
        docs_rate, tok_rate = journal.documents / elapsed, journal.tokens / elapsed
        out.append(f"rate: {docs_rate:.2f} documents/s, {tok_rate:.1f} tokens/s over {_duration(elapsed)}")
        estimated = total
        first = stages[0]
        done = [f"{t.rank:05d}" for t in first.states if t.state == "completed"]
        if estimated is None and done and first.tasks:
            per_task = sum(journal.per_rank.get(r, 0) for r in done) / len(done)
            estimated = round(per_task * first.tasks)
        if estimated:
            left = max(estimated - journal.documents, 0)
            label = "" if total else " (estimated from completed tasks)"
            out.append(
                f"progress: {journal.documents}/{estimated} documents{label}; "
                f"ETA {_duration(left / docs_rate) if left else 'done'}"
            )
    return "\n".join(out)
