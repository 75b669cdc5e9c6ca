"""The run summary: what came in, what came out and what it cost, from datatrove's stats.

datatrove writes one `stats.json` per stage (`{logging_dir}/stats.json`, or
`{logging_dir}/{stage}/stats.json` for a multi-stage pipeline), merged from the per-task
`stats/{rank:05d}.json` files it writes as each task completes. Each holds one entry per step:
`{"name": "TYPE: NAME", "time_stats": ..., "stats": {metric: total or {"total": .., "n": .., ...}}}`.
The summary reads the counters our blocks and datatrove's filters and writers keep:

- prompts: `prompts` (PromptBuilder), else every document the generator was given;
- generated / resumed: `generated` and `resumed_from_journal` of the generation step;
- kept: `total` of the last writer (the dataset; exclusion writers sit inside their filters);
- dropped: `dropped_<reason>` per filter; skipped: `skipped_<reason>` per step (reader, generator);
- tokens: `prompt_tokens` and `generated_tokens`;
- engine start: `engine_start_seconds` (summed over tasks, `n` = engines started);
- generation rate: generated tokens / `generation_seconds`, i.e. per engine, start-up excluded.
"""

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import orjson
from datatrove.utils.stats import MetricStats, PipelineStats

from cosmo_blocks.run.record import RunRecord

STATS_FILE = "stats.json"
SUMMARY_FILE = "summary.json"
LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"
WRITER_TYPE = "💽 - WRITER"


def stage_folders(logging_dir: str | Path) -> list[tuple[str, Path]]:
    """(name, folder) of each stage, in run order: the run record's, else the folders datatrove wrote."""
    logdir = Path(logging_dir)
    record = RunRecord.read(logdir)
    if record is not None:
        return [(stage.name, Path(stage.logging_dir)) for stage in record.stages]
    if (logdir / "executor.json").is_file():
        return [("main", logdir)]
    # each stage's executor.json is written when the stage starts
    found = (p for p in logdir.iterdir() if (p / "executor.json").is_file()) if logdir.is_dir() else ()
    return [(p.name, p) for p in sorted(found, key=lambda p: (p / "executor.json").stat().st_mtime)]


def load_stats(folder: str | Path, ranks: list[int] | None = None) -> list[dict]:
    """A stage's step stats: its tasks' own stats files merged (of `ranks` when given), else its
    stats.json. The per-task files come first because datatrove rewrites stats.json with only the
    tasks a resumed run ran again, and nothing writes it on SLURM."""
    folder = Path(folder)
    paths = sorted((folder / "stats").glob("*.json")) if (folder / "stats").is_dir() else []
    if ranks is not None:
        wanted = {f"{rank:05d}" for rank in ranks}
        paths = [p for p in paths if p.stem in wanted]
    elif not paths and (folder / STATS_FILE).is_file():
        return orjson.loads((folder / STATS_FILE).read_bytes())
    return merge_stats(path.read_bytes() for path in paths)


def merge_stats(task_files: Iterable[bytes]) -> list[dict]:
    """The merged steps of per-task stats files (their bytes); a torn file is left out."""
    merged = PipelineStats()
    for raw in task_files:
        try:
            merged = merged + PipelineStats.from_json(orjson.loads(raw))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            continue  # a task killed while writing its stats
    return orjson.loads(merged.to_json())


def _total(value) -> float:
    return value.get("total", 0) if isinstance(value, dict) else (value or 0)


def _count(value) -> int:
    """How many times a metric was updated (engines started, tasks timed)."""
    return MetricStats.from_dict(value).n if value else 0


def _step_name(name: str, seen: dict) -> str:
    short = re.sub(r"^\W+", "", name.split(": ", 1)[-1]) or name
    seen[short] = seen.get(short, 0) + 1
    return short if seen[short] == 1 else f"{short} ({seen[short]})"


def _reasons(stats: dict, prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: int(_total(v)) for k, v in stats.items() if k.startswith(prefix) and _total(v)}


def summarize(steps: list[dict]) -> dict:
    """The summary of a run from its steps' stats (all stages, in order)."""
    summary = {
        "prompts": 0,
        "generated": 0,
        "resumed_from_journal": 0,
        "kept": 0,
        "dropped": {},
        "skipped": {},
    }
    tokens = {"prompt": 0, "generated": 0}
    engine_start, engine_starts, generation_seconds, rates = 0.0, 0, 0.0, []
    generator_input = 0
    seen: dict = {}
    for step in steps:
        stats, name = step.get("stats") or {}, _step_name(step.get("name", "?"), seen)
        summary["prompts"] += int(_total(stats.get("prompts")))
        if "generated" in stats or "resumed_from_journal" in stats or "engine_start_seconds" in stats:
            generated, resumed = (
                int(_total(stats.get("generated"))),
                int(_total(stats.get("resumed_from_journal"))),
            )
            summary["generated"] += generated
            summary["resumed_from_journal"] += resumed
            generator_input += generated + resumed + sum(_reasons(stats, "skipped_").values())
            tokens["prompt"] += int(_total(stats.get("prompt_tokens")))
            tokens["generated"] += int(_total(stats.get("generated_tokens")))
            engine_start += _total(stats.get("engine_start_seconds"))
            engine_starts += _count(stats.get("engine_start_seconds"))
            generation_seconds += _total(stats.get("generation_seconds"))
            if stats.get("generated_tokens_per_second"):
                rates.append(
                    _total(stats["generated_tokens_per_second"])
                    / _count(stats["generated_tokens_per_second"])
                )
        if dropped := _reasons(stats, "dropped_"):
            summary["dropped"][name] = dropped
        if skipped := _reasons(stats, "skipped_"):
            summary["skipped"][name] = skipped
        if step.get("name", "").startswith(WRITER_TYPE):
            summary["kept"] = int(_total(stats.get("total")))
    summary["prompts"] = summary["prompts"] or generator_input
    summary["tokens"] = tokens
    summary["engine_starts"] = engine_starts
    summary["engine_start_seconds"] = round(engine_start, 1)
    summary["generation_seconds"] = round(generation_seconds, 1)
    if generation_seconds:
        summary["generated_tokens_per_second"] = round(tokens["generated"] / generation_seconds, 1)
    elif rates:
        summary["generated_tokens_per_second"] = round(sum(rates) / len(rates), 1)
    else:
        summary["generated_tokens_per_second"] = None
    return summary


def first_log_time(path: Path) -> float | None:
    """The timestamp of a datatrove task log's first line."""
    try:
        with open(path, errors="replace") as f:
            return datetime.strptime(f.readline()[:23], LOG_TIME_FORMAT).timestamp()
    except (OSError, ValueError):
        return None


def _wall_from_logs(folders: list[Path]) -> float | None:
    """First task log line to the newest task stats file: the run as its tasks saw it."""
    starts = [t for folder in folders for p in folder.glob("logs/task_*.log") if (t := first_log_time(p))]
    ends = [p.stat().st_mtime for folder in folders for p in folder.glob("stats/*.json")]
    return round(max(ends) - min(starts), 1) if starts and ends and max(ends) > min(starts) else None


def write_summary(logging_dir: str | Path, wall_seconds: float | None = None) -> dict:
    """Summarize the run in `logging_dir` and write it to `{logging_dir}/summary.json`."""
    stages = stage_folders(logging_dir)
    steps = [step for _, folder in stages for step in load_stats(folder)]
    summary = {"stages": [name for name, _ in stages]} | summarize(steps)
    if wall_seconds is None:
        wall_seconds = _wall_from_logs([folder for _, folder in stages])
    summary["wall_seconds"] = None if wall_seconds is None else round(wall_seconds, 1)
    Path(logging_dir, SUMMARY_FILE).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return summary


def _reason_list(groups: dict[str, dict[str, int]]) -> str:
    return "; ".join(
        f"{step}: " + ", ".join(f"{r} {n}" for r, n in reasons.items()) for step, reasons in groups.items()
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return "unknown"
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes)}m{seconds:04.1f}s" if minutes else f"{seconds:.1f}s"


def format_summary(summary: dict) -> str:
    dropped = sum(n for reasons in summary["dropped"].values() for n in reasons.values())
    skipped = sum(n for reasons in summary["skipped"].values() for n in reasons.values())
    resumed = summary["resumed_from_journal"]
    rate = summary["generated_tokens_per_second"]
    lines = [
        f"prompts: {summary['prompts']}  generated: {summary['generated']}"
        + (f" (+{resumed} from the journal)" if resumed else "")
        + f"  kept: {summary['kept']}  dropped: {dropped}  skipped: {skipped}",
    ]
    if dropped:
        lines.append(f"  dropped by filter: {_reason_list(summary['dropped'])}")
    if skipped:
        lines.append(f"  skipped: {_reason_list(summary['skipped'])}")
    tokens = summary["tokens"]
    lines.append(f"tokens: {tokens['prompt']} prompt, {tokens['generated']} generated")
    lines.append(
        f"engine start: {_seconds(summary['engine_start_seconds'])} ({summary['engine_starts']} engine(s)); "
        f"generation: {_seconds(summary['generation_seconds'])}"
        + (f", {rate:.0f} generated tokens/s per engine" if rate else "")
    )
    lines.append(f"wall time: {_seconds(summary['wall_seconds'])}")
    return "\n".join(lines)


def report_run(opts, stages: int, wall_seconds: float) -> None:
    """After a blocking run (local, Ray): the summary on the console and in summary.json, and where
    the output, logs and stats are."""
    from datatrove.utils.logging import logger

    where = f"output: {opts.output}  logs: {opts.logging_dir}/logs  stats: {opts.logging_dir}/stats.json"
    if stages > 1:
        where = f"output: {opts.output}  logs and stats per stage in {opts.logging_dir}/STAGE"
    if "://" not in opts.logging_dir:
        print(format_summary(write_summary(opts.logging_dir, wall_seconds)), flush=True)
        where += f"  summary: {opts.logging_dir}/summary.json"
    logger.info(where)
