"""The local executor: stages one after another on this machine with datatrove's LocalPipelineExecutor."""

import time

from datatrove.executor import LocalPipelineExecutor
from datatrove.utils.logging import logger

from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.record import RunRecord, StageRecord
from cosmo_blocks.run.stages import StagePlan


def is_local_path(path: str) -> bool:
    return "://" not in path


class LocalAdapter:
    def __init__(self, opts: RunOptions):
        self.opts = opts
        self.executors: list[tuple[str, LocalPipelineExecutor]] = []

    def prepare(self, stages: list[StagePlan]) -> None:
        self.executors = [
            (
                stage.name,
                LocalPipelineExecutor(
                    stage.steps,
                    tasks=stage.tasks,
                    workers=stage.workers,
                    logging_dir=stage.logging_dir,
                    randomize_start_duration=stage.settings.randomize_start_duration,
                ),
            )
            for stage in stages
        ]

    def describe(self) -> str:
        return ""

    def launch(self) -> LocalPipelineExecutor:
        """Run every stage; a stage with an unfinished task stops the run with a clear error.

        (datatrove's own `depends=` would wait forever, polling every 2 minutes, on a failed task.)
        """
        opts, start = self.opts, time.time()
        record = RunRecord(
            "local", start, [StageRecord(name, ex.logging_dir.path, ex.tasks) for name, ex in self.executors]
        )
        record.write(opts.logging_dir)
        for name, executor in self.executors:
            executor.run()
            incomplete = executor.get_incomplete_ranks(skip_completed=True)
            if incomplete:
                raise RuntimeError(
                    f"stage {name!r}: {len(incomplete)} task(s) did not complete ({incomplete[:10]}); "
                    f"later stages not run. See `cosmo status {opts.logging_dir}` and rerun to resume."
                )
        self._report(time.time() - start)
        return self.executors[-1][1]

    def _report(self, wall_seconds: float) -> None:
        from cosmo_blocks.run.summary import format_summary, write_summary

        opts = self.opts
        where = f"output: {opts.output}  logs: {opts.logging_dir}/logs  stats: {opts.logging_dir}/stats.json"
        if len(self.executors) > 1:
            where = f"output: {opts.output}  logs and stats per stage in {opts.logging_dir}/STAGE"
        if is_local_path(opts.logging_dir):
            print(format_summary(write_summary(opts.logging_dir, wall_seconds)), flush=True)
            where += f"  summary: {opts.logging_dir}/summary.json"
        logger.info(where)
