"""Running a pipeline script: options, executor presets, and the `build(opts)` contract.

A pipeline script defines `build(opts: RunOptions)` returning its list of steps (or a list of
`Stage`s that run one after another: generation, then statistics or dedup) and ends with

    if __name__ == "__main__":
        pipeline_main(build)

so `python pipelines/NAME.py [options]` and `cosmo run NAME [options]` are the same.

The way down is one-directional: command-line options -> `RunOptions` (the preset merged with the
command line, every value checked against one schema, `settings.ExecutorSettings`) -> `build(opts)`
-> `StagePlan`s -> the adapter of the preset's executor kind (`local.py`, `slurm.py`, `ray.py`), which
prepares its executors (every check that can fail), then prints the plan (`--dry-run`) or runs it
and writes the run record (`record.py`) that `cosmo status` reads. A new executor kind is a module
with an adapter class (prepare / describe / launch) and an entry in ADAPTERS.
"""

import importlib
import runpy
from pathlib import Path

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.describe import describe
from cosmo_blocks.run.options import RunOptions
from cosmo_blocks.run.stages import Stage, plan_stages

ADAPTERS = {
    "local": "cosmo_blocks.run.local:LocalAdapter",
    "slurm": "cosmo_blocks.run.slurm:SlurmAdapter",
    "ray": "cosmo_blocks.run.ray:RayAdapter",
}

__all__ = ["RunOptions", "Stage", "load_build", "run_pipeline"]


def adapter_for(opts: RunOptions):
    module, _, name = ADAPTERS[opts.kind].partition(":")
    return getattr(importlib.import_module(module), name)(opts)


def run_pipeline(build, opts: RunOptions, script: str | None = None):
    """Build the pipeline, check everything that can be checked, then print the plan or run it."""
    stages = plan_stages(build(opts), opts)
    opts.check_params()
    adapter = adapter_for(opts)
    adapter.prepare(stages)
    if opts.dry_run:
        print(describe(opts, stages, script))
        if text := adapter.describe():
            print(text)
        return None
    return adapter.launch()


def load_build(script: str | Path):
    """The `build` function of a pipeline script, without running its __main__ block."""
    namespace = runpy.run_path(str(script), run_name="cosmo_pipeline")
    if not callable(namespace.get("build")):
        raise ConfigError(f"{script} defines no build(opts) function")
    return namespace["build"]
