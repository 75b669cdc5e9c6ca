"""Trivial work for many tasks: read seeds (record-sharded) and write each task's share."""

from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import SeedReader


def build(opts: RunOptions) -> list:
    return [SeedReader(opts.seeds), JsonlWriter(f"{opts.output}/data", compression=None)]
