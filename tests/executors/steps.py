"""Small picklable steps for the executor tests (importable in SLURM tasks through PYTHONPATH)."""

import os
import signal
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


class FreezeAfter(PipelineStep):
    """Pass documents through; in one rank, SIGSTOP the task once `n` documents came out of the step
    before, having written its pid to `marker`, so a test acts on the task at exactly that point
    (watching the journal from outside raced on a loaded machine). A rerun of the task (resubmitted or
    requeued) finds the marker and runs through."""

    name = "🧊 freeze after n documents"

    def __init__(self, rank: int, n: int, marker: str):
        super().__init__()
        self.freeze_rank, self.n, self.marker = rank, n, marker

    def run(self, data, rank: int = 0, world_size: int = 1):
        freeze = rank == self.freeze_rank and not os.path.exists(self.marker)
        for count, doc in enumerate(data or (), 1):
            if freeze and count == self.n:
                with open(f"{self.marker}.tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.replace(f"{self.marker}.tmp", self.marker)
                os.kill(os.getpid(), signal.SIGSTOP)
            yield doc
