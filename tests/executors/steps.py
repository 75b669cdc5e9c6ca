"""Small picklable steps for the executor tests (importable in SLURM tasks through PYTHONPATH)."""

import time

from datatrove.pipeline.base import PipelineStep


class FailOnRank(PipelineStep):
    """Pass documents through; raise in one rank (a task failure, as a bug or bad node would cause)."""

    name = "💥 fail on rank"

    def __init__(self, rank: int | None = None, delay: float = 0.0):
        super().__init__()
        self.fail_rank = rank
        self.delay = delay

    def run(self, data, rank: int = 0, world_size: int = 1):
        time.sleep(self.delay)
        if rank == self.fail_rank:
            raise RuntimeError(f"injected failure in rank {rank}")
        if data:
            yield from data
