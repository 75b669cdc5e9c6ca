"""`cosmo status LOGDIR`: where a run stands, from its logging folder (and squeue when there is one).

A task is
- completed: datatrove wrote `completions/{rank:05d}`;
- running / pending: squeue lists it (SLURM runs, job ids from the run record `cosmo_run.json`);
- failed: it started (has a task log) and is neither completed nor queued; for a local run (no
  squeue) a task whose log has an ERROR line; its log tail is printed;
- started: local run, has a log, no error and no completion (running, or killed without a trace);
  when the run's command ran on this host, running while it lives and interrupted once it is gone;
- not started: none of the above.

Documents and tokens come from the generation journals (one entry per finished generation); kept,
dropped and skipped from the stats of completed tasks. Engine start-up and generation are timed
apart: a completed task's stats hold both; a running task's engine start is the "ready in" line of
its log, and its generation time runs from there to its journal's newest write. The ETA needs a
total (`--total` documents, or completed tasks' mean documents per task times the number of tasks)
and counts from the run's start (the first task log line), start-ups included.
"""

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from cosmo_blocks.generation.base import duration
from cosmo_blocks.generation.journal import iter_journal
from cosmo_blocks.run.record import RunRecord, StageRecord
from cosmo_blocks.run.summary import (
    LOG_TIME_FORMAT,
    STATS_FILE,
    SUMMARY_FILE,
    first_log_time,
    load_stats,
    stage_folders,
    summarize,
    write_summary,
)

# "engine ready in 21.5s" (in-process engine), "vLLM server ready at URL in 30.2s" (server backend)
READY_LINE = re.compile(rb"^(\S+ \S+) \|[^\n]* - (?:engine|vLLM server) ready (?:at \S+ )?in ([\d.]+)s", re.M)


@dataclass
class TaskState:
    rank: int
    state: str
    detail: str = ""
    log_tail: str = ""


@dataclass
class StageStatus:
    record: StageRecord
    states: list[TaskState] = field(default_factory=list)
    queue_note: str = ""

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def path(self) -> Path:
        return Path(self.record.logging_dir)

    def ranks(self, *states: str) -> list[int]:
        return [t.rank for t in self.states if t.state in states]

    def count(self) -> Counter:
        return Counter(t.state for t in self.states)


@dataclass
class RankJournal:
    documents: int = 0
    tokens: int = 0
    last_write: float = 0.0


@dataclass
class JournalTotals:
    documents: int = 0
    tokens: int = 0
    prompt_tokens: int = 0
    per_rank: dict[str, RankJournal] = field(default_factory=dict)

    @property
    def last_write(self) -> float | None:
        return max((r.last_write for r in self.per_rank.values()), default=None)


# ---------------------------------------------------------------------------------------------
# reading the folder


def find_stages(logdir: Path) -> tuple[list[StageRecord], bool | None]:
    """The run's stages: the run record's, else the folders datatrove wrote; and whether the command
    that runs them (local, Ray) is alive, when that can be known."""
    record = RunRecord.read(logdir)
    if record is not None:
        return record.stages, record.driver_alive()
    return [StageRecord(n, str(f), _world_size(f)) for n, f in stage_folders(logdir)], None


def _world_size(folder: Path) -> int:
    try:
        return int(orjson.loads((folder / "executor.json").read_bytes())["world_size"])
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


def engine_ready(path: Path) -> tuple[float, float] | None:
    """(when, seconds it took) of the task's first engine start, from its log's head."""
    try:
        with open(path, "rb") as f:
            match = READY_LINE.search(f.read(1 << 18))
    except OSError:
        return None
    try:
        return datetime.strptime(match[1].decode(), LOG_TIME_FORMAT).timestamp(), float(match[2])
    except (TypeError, ValueError):
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


# ---------------------------------------------------------------------------------------------
# putting it together


def stage_status(stage: StageRecord, tail_lines: int = 15, driver_alive: bool | None = None) -> StageStatus:
    folder = Path(stage.logging_dir)
    stage.tasks = stage.tasks or _world_size(folder)
    status = StageStatus(stage)
    completed = {p.name for p in folder.glob("completions/*")}
    mapping = _array_ranks(stage)
    queue = squeue_states(stage.job_ids)
    queued = {rank: entry for key, entry in (queue or {}).items() for rank in mapping.get(key, [])}
    never = [reason for _, reason in (queue or {}).values() if "DependencyNeverSatisfied" in reason]
    if never:
        status.queue_note = (
            f"{len(never)} task(s) wait on a dependency that can never be satisfied (a task of the "
            "previous stage failed): fix it and run the same command again, then `scancel` these"
        )
    for rank in range(stage.tasks):
        if f"{rank:05d}" in completed:
            status.states.append(TaskState(rank, "completed"))
        elif rank in queued:
            state, reason = queued[rank]
            running = state in ("RUNNING", "COMPLETING")
            status.states.append(
                TaskState(rank, "running" if running else "pending", f"{state.lower()} ({reason})")
            )
        else:
            slurm_log = next((f"{job}_{i}.out" for (job, i), ranks in mapping.items() if rank in ranks), None)
            state = _off_queue(folder, rank, queue is not None and bool(stage.job_ids), slurm_log, tail_lines)
            if state.state == "started" and driver_alive is not None:
                state.state = "running" if driver_alive else "interrupted"
            status.states.append(state)
    return status


def _off_queue(folder: Path, rank: int, queried: bool, slurm_log: str | None, tail_lines: int) -> TaskState:
    """Neither completed nor queued: not started, or it failed, was cancelled or killed."""
    log = folder / "logs" / f"task_{rank:05d}.log"
    if not log.is_file():
        return TaskState(rank, "not started")
    if not (queried or _log_has_error(log)):
        return TaskState(rank, "started")  # a local run: running, or killed without a trace
    tail = log_tail(log, tail_lines)
    if slurm_log and (folder / "slurm_logs" / slurm_log).is_file():
        tail += f"\n--- slurm log\n{log_tail(folder / 'slurm_logs' / slurm_log, tail_lines)}"
    return TaskState(rank, "failed", "", tail)


def _array_ranks(stage: StageRecord) -> dict[tuple[str, int], list[int]]:
    """(job id, array index) -> ranks, for a submitted stage."""
    if not stage.job_ids:
        return {}
    try:
        ranks = orjson.loads((Path(stage.logging_dir) / "ranks_to_run.json").read_bytes())
    except (OSError, ValueError):
        return {}
    return stage.ranks_by_array_task(ranks)


def journal_totals(logdir: Path) -> JournalTotals:
    totals = JournalTotals()
    paths = sorted({*logdir.glob("journal/*.jsonl"), *logdir.glob("*/journal/*.jsonl")})
    for path in paths:
        rank = RankJournal(last_write=path.stat().st_mtime)
        for entry in iter_journal(path):
            rank.documents += 1
            rank.tokens += int(entry.get("token_length") or 0)
            totals.prompt_tokens += int(entry.get("prompt_tokens") or 0)
        totals.documents += rank.documents
        totals.tokens += rank.tokens
        totals.per_rank[path.stem] = rank
    return totals


@dataclass
class Timing:
    """Engine start-up and generation, apart: completed tasks from their stats, running ones from log + journal."""

    engines: int = 0
    start_seconds: float = 0.0
    generation_seconds: float = 0.0
    generated_tokens: int = 0


def timing(stages: list[StageStatus], completed: dict, journal: JournalTotals) -> Timing:
    result = Timing(
        completed["engine_starts"],
        completed["engine_start_seconds"],
        completed["generation_seconds"],
        completed["tokens"]["generated"],
    )
    for stage in stages:
        for rank in stage.ranks("running", "started"):
            rank_journal = journal.per_rank.get(f"{rank:05d}")
            ready = engine_ready(stage.path / "logs" / f"task_{rank:05d}.log")
            if rank_journal is None or ready is None:
                continue
            result.engines += 1
            result.start_seconds += ready[1]
            result.generation_seconds += max(rank_journal.last_write - ready[0], 0.0)
            result.generated_tokens += rank_journal.tokens
    return result


def run_start(stages: list[StageStatus]) -> float | None:
    starts = [t for s in stages for p in (s.path / "logs").glob("task_*.log") if (t := first_log_time(p))]
    return min(starts) if starts else None


def collect(logdir: str | Path, tail_lines: int = 15) -> tuple[list[StageStatus], JournalTotals]:
    logdir = Path(logdir)
    if not logdir.is_dir():
        raise FileNotFoundError(f"no logging folder at {logdir}")
    records, driver_alive = find_stages(logdir)
    stages = [stage_status(stage, tail_lines, driver_alive) for stage in records]
    if not stages:
        raise FileNotFoundError(f"{logdir} holds no run (no executor.json, cosmo_run.json or stage folders)")
    return stages, journal_totals(logdir)


def _stage_lines(stage: StageStatus, later: list[str]) -> list[str]:
    counts = stage.count()
    order = ("completed", "failed", "running", "pending", "interrupted", "started", "not started")
    summary = ", ".join(f"{counts.get(k, 0)} {k}" for k in order if counts.get(k) or k in order[:4])
    jobs = f"  jobs {','.join(stage.record.job_ids)}" if stage.record.job_ids else ""
    out = [f"stage {stage.name}: {stage.record.tasks} tasks: {summary}{jobs}"]
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
        more = f" (+{len(pending) - 1} more)" if len(pending) > 1 else ""
        out.append(f"  pending: {pending[0].detail}{more}")
    if any(t.state == "interrupted" for t in stage.states):
        out.append("  !! the command that ran these tasks is gone: run the same command again to resume them")
    if failed and later:
        out.append(
            f"  !! later stage(s) {', '.join(later)} cannot start until these tasks complete: "
            "run the same command again (it resubmits only unfinished tasks)"
        )
    return out


def _outcome_line(completed: dict, tasks: int) -> str:
    dropped = sum(n for reasons in completed["dropped"].values() for n in reasons.values())
    skipped = sum(n for reasons in completed["skipped"].values() for n in reasons.values())
    reasons = "; ".join(
        f"{step}: " + ", ".join(f"{r} {n}" for r, n in why.items())
        for step, why in completed["dropped"].items()
    )
    return (
        f"kept: {completed['kept']}, dropped: {dropped}{f' ({reasons})' if reasons else ''}, "
        f"skipped: {skipped} (stats of {tasks} completed task(s))"
    )


def render(logdir: str | Path, total: int | None = None, tail_lines: int = 15) -> str:
    stages, journal = collect(logdir, tail_lines)
    out = [f"run: {logdir}"]
    for i, stage in enumerate(stages):
        out.extend(_stage_lines(stage, [s.name for s in stages[i + 1 :]]))
    out.append(
        f"generated: {journal.documents} documents, {journal.tokens} tokens "
        f"({journal.prompt_tokens} prompt tokens) in {len(journal.per_rank)} task journal(s)"
    )
    done = {stage.name: stage.ranks("completed") for stage in stages}
    completed = summarize([step for s in stages if done[s.name] for step in load_stats(s.path, done[s.name])])
    if any(done.values()):
        out.append(_outcome_line(completed, sum(map(len, done.values()))))
    spent = timing(stages, completed, journal)
    if spent.engines:
        out.append(
            f"engine start: {spent.start_seconds / spent.engines:.1f}s per engine ({spent.engines} engine(s))"
        )
    if spent.generation_seconds:
        out.append(
            f"generation: {spent.generated_tokens / spent.generation_seconds:.0f} generated tokens/s per engine, "
            "start-up excluded"
        )
    out.extend(_progress(stages, journal, total))
    out.extend(_summary_line(Path(logdir), stages))
    return "\n".join(out)


def _summary_line(logdir: Path, stages: list[StageStatus]) -> list[str]:
    """A finished run's summary.json; written here when the run did not write it (a SLURM run)."""
    finished = all(
        len(s.ranks("completed")) == s.record.tasks and (s.path / STATS_FILE).is_file() for s in stages
    )
    if not finished:
        return []
    path = logdir / SUMMARY_FILE
    if path.is_file():
        return [f"summary: {path}"]
    write_summary(logdir)
    return [f"summary: {path} (written now, wall time from the task logs)"]


def _progress(stages: list[StageStatus], journal: JournalTotals, total: int | None) -> list[str]:
    start, end = run_start(stages), journal.last_write
    if not (start and end and end > start and journal.documents):
        return []
    docs_rate = journal.documents / (end - start)
    estimated, first = total, stages[0]
    done = [f"{rank:05d}" for rank in first.ranks("completed")]
    if estimated is None and done and first.record.tasks:
        per_task = sum(journal.per_rank[r].documents for r in done if r in journal.per_rank) / len(done)
        estimated = round(per_task * first.record.tasks)
    if not estimated:
        return []
    left = max(estimated - journal.documents, 0)
    label = "" if total else " (estimated from completed tasks)"
    return [
        f"progress: {journal.documents}/{estimated} documents{label}, {docs_rate:.2f} documents/s since the "
        f"run started; ETA {duration(left / docs_rate) if left else 'done'}"
    ]
