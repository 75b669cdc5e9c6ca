"""Two stages: copy seeds (4 tasks), then read all copies in one task and write them together."""

import os

from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter
from steps import FailOnRank

from cosmo_blocks.run import RunOptions, Stage
from cosmo_blocks.seeds import SeedReader


def build(opts: RunOptions) -> list:
    fail = os.environ.get("FAIL_RANK")
    return [
        Stage(
            "copy",
            [
                SeedReader(opts.seeds),
                FailOnRank(int(fail) if fail else None, delay=float(os.environ.get("STAGE1_DELAY", "0"))),
                JsonlWriter(f"{opts.output}/copy", compression=None),
            ],
            tasks=4,
        ),
        Stage(
            "merge",
            [JsonlReader(f"{opts.output}/copy"), JsonlWriter(f"{opts.output}/merged", compression=None)],
            tasks=1,
        ),
    ]
