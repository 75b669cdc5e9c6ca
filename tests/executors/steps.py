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
    """Pass documents through; in the given ranks, SIGSTOP the task once `n` documents came out of the
    step before, having written its pid to `{marker}.{rank}`, so a test acts on the task at exactly
    that point (watching the journal from outside raced on a loaded machine). A rerun of the task
    (resubmitted or requeued) finds its marker and runs through."""

    name = "🧊 freeze after n documents"

    def __init__(self, ranks: list[int], n: int, marker: str):
        super().__init__()
        self.freeze_ranks, self.n, self.marker = list(ranks), n, marker

    def run(self, data, rank: int = 0, world_size: int = 1):
        marker = f"{self.marker}.{rank}"
        freeze = rank in self.freeze_ranks and not os.path.exists(marker)
        for count, doc in enumerate(data or (), 1):
            if freeze and count == self.n:
                with open(f"{marker}.tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.replace(f"{marker}.tmp", marker)
                os.kill(os.getpid(), signal.SIGSTOP)
            yield doc
