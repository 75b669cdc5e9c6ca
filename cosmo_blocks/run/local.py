"""The local executor: stages one after another on this machine with datatrove's LocalPipelineExecutor."""

from datatrove.executor import LocalPipelineExecutor

from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.stages import StagePlan, run_in_order


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
        return run_in_order("local", self.opts, self.executors)
