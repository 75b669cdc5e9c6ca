"""Stages: what `build(opts)` returns, resolved into what an executor adapter runs."""

import time
from dataclasses import dataclass

from cosmo_blocks.errors import ConfigError, RunFailed
from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.settings import ExecutorSettings


@dataclass
class Stage:
    """One stage of a multi-stage pipeline: its steps, and optionally its own task count and preset.

    `build(opts)` may return `[Stage("generate", [...]), Stage("stats", [...], tasks=1, preset="slurm-cpu")]`.
    Stages run in order; on SLURM they are submitted together, each waiting (afterok) for the previous
    one. A stage's logs go to `{logging_dir}/{name}`. `preset` applies only when the run itself uses a
    preset of the same kind (a local run stays local).
    """

    name: str
    steps: list
    tasks: int | None = None
    preset: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class StagePlan:
    """A stage as it will run: tasks, workers and executor settings resolved, its own logging folder."""

    name: str
    steps: list
    tasks: int
    workers: int
    settings: ExecutorSettings
    logging_dir: str


def plan_stages(built: list, opts: RunOptions) -> list[StagePlan]:
    """The stages of what `build(opts)` returned: a plain list of steps is one stage, `main`, whose
    logs go directly to the logging folder. A stage's own task count wins over --tasks."""
    from cosmo_blocks.writers import check_shared_writers

    if not isinstance(built, list | tuple):
        raise ConfigError(f"build(opts) must return a list of steps or of Stages, got {type(built).__name__}")
    if not any(isinstance(item, Stage) for item in built):
        built = [Stage("main", list(built))]
        logging_dirs = [opts.logging_dir]
    elif not all(isinstance(item, Stage) for item in built):
        raise ConfigError("build(opts) must return either steps or Stage objects, not a mix")
    else:
        logging_dirs = [f"{opts.logging_dir}/{stage.name}" for stage in built]
    names = [stage.name for stage in built]
    if len(set(names)) != len(names):
        raise ConfigError(f"stage names must be unique: {names}")
    plans = []
    for stage, logging_dir in zip(built, logging_dirs, strict=True):
        check_shared_writers(stage.steps)
        settings = opts.settings_for(stage.preset)
        tasks, workers = stage.tasks or settings.tasks, stage.workers or settings.workers
        plans.append(StagePlan(stage.name, stage.steps, tasks, workers, settings, logging_dir))
    return plans


def run_in_order(kind: str, opts: RunOptions, executors: list[tuple[str, object]]):
    """Run blocking executors (local, Ray) stage after stage: the run record first, for `cosmo status`;
    a stage with an unfinished task stops the run with a clear error; the summary at the end.

    (datatrove's own `depends=` would wait forever, polling every 2 minutes, on a failed task.)
    """
    from cosmo_blocks.run.record import RunRecord, StageRecord, this_driver
    from cosmo_blocks.run.summary import report_run

    start = time.time()
    stages = [StageRecord(name, ex.logging_dir.path, ex.tasks) for name, ex in executors]
    RunRecord(kind, start, stages, driver=this_driver()).write(opts.logging_dir)
    for name, executor in executors:
        executor.run()
        incomplete = executor.get_incomplete_ranks(skip_completed=True)
        if incomplete:
            raise RunFailed(
                f"stage {name!r}: {len(incomplete)} task(s) did not complete ({incomplete[:10]}); "
                f"later stages not run. Their logs: `cosmo status {opts.logging_dir}`; rerun the same "
                "command to resume."
            )
    report_run(opts, len(executors), time.time() - start)
    return executors[-1][1]
