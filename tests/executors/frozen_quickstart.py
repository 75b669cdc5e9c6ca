"""The quickstart with tasks frozen after a number of generated documents (steps.FreezeAfter).

FREEZE="RANK[,RANK...]:N:MARKER" cosmo run tests/executors/frozen_quickstart.py ...
"""

import os
import runpy
from pathlib import Path

from steps import FreezeAfter

from cosmo_blocks.generation.base import GenerationBlock

QUICKSTART = Path(__file__).resolve().parents[2] / "pipelines" / "quickstart.py"


def build(opts) -> list:
    steps = runpy.run_path(str(QUICKSTART), run_name="quickstart")["build"](opts)
    ranks, n, marker = os.environ["FREEZE"].split(":", 2)
    after = next(i for i, step in enumerate(steps) if isinstance(step, GenerationBlock)) + 1
    return steps[:after] + [FreezeAfter([int(r) for r in ranks.split(",")], int(n), marker)] + steps[after:]
