"""Running a pipeline script: options, executor presets, and the `build(opts)` contract.

A pipeline script defines `build(opts: RunOptions)` returning its list of steps and ends with

    if __name__ == "__main__":
        pipeline_main(build)

so `python pipelines/NAME.py [options]` and `cosmo run pipelines/NAME.py [options]` are the same.
"""

import runpy
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from datatrove.utils.logging import logger

from cosmo_blocks.generation import engine as eng

REPO_ROOT = Path(__file__).resolve().parents[1]
PRESETS_DIR = REPO_ROOT / "executors"
TINY_MODEL_DIR = Path("~/.cache/cosmo-blocks/tiny-mixtral").expanduser()


@dataclass
class RunOptions:
    seeds: str | None = None
    output: str = "output"
    logging_dir: str | None = None
    executor: str = "local"
    tasks: int | None = None
    workers: int | None = None
    limit: int = -1
    model: str | None = None
    dry_run: bool = False
    preset: dict = field(default_factory=dict)

    def __post_init__(self):
        self.logging_dir = self.logging_dir or f"{self.output.rstrip('/')}/logs"
        self.preset = load_preset(self.executor)
        self.tasks = self.tasks or self.preset.get("tasks", 1)
        self.workers = self.workers or self.preset.get("workers", -1)

    @property
    def journal_dir(self) -> str:
        return f"{self.logging_dir}/journal"

    def resolve_model(self) -> str:
        """The model to load: --model, else Mixtral on a GPU, else the tiny stand-in (said loudly)."""
        if self.model:
            return self.model
        if eng.gpu_available():
            return eng.DEFAULT_MODEL
        if not (TINY_MODEL_DIR / "config.json").is_file():
            from cosmo_blocks.generation import build_tiny_model

            build_tiny_model(TINY_MODEL_DIR)
        logger.warning(
            "\n" + "!" * 78 + "\n!! No GPU found: generating with the TINY random-weight stand-in model at\n"
            f"!! {TINY_MODEL_DIR}. Its text is noise. Pass --model to choose a real one.\n" + "!" * 78
        )
        return str(TINY_MODEL_DIR)


def load_preset(name: str) -> dict:
    """`local`, `slurm`, `slurm-NAME` (files in executors/) or a path to a .toml preset."""
    path = Path(name) if name.endswith(".toml") else PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))
        raise ValueError(
            f"unknown executor preset {name!r}; known presets: {', '.join(known)} (or a .toml path)"
        )
    preset = tomllib.loads(path.read_text())
    preset.setdefault("executor", "slurm" if name.startswith("slurm") else "local")
    return preset


def make_executor(steps: list, opts: RunOptions, **extra):
    kind = opts.preset["executor"]
    if kind == "local":
        from datatrove.executor import LocalPipelineExecutor

        return LocalPipelineExecutor(
            steps, tasks=opts.tasks, workers=opts.workers, logging_dir=opts.logging_dir, **extra
        )
    if kind == "slurm":
        from cosmo_blocks.slurm import make_slurm_executor

        return make_slurm_executor(steps, opts, **extra)
    raise ValueError(f"preset {opts.executor!r} names unknown executor {kind!r} (local or slurm)")


def run_pipeline(build, opts: RunOptions):
    steps = build(opts)
    executor = make_executor(steps, opts)
    executor.run()
    if opts.preset["executor"] == "local":
        logger.info(
            f"output: {opts.output}  stats: {opts.logging_dir}/stats.json  logs: {opts.logging_dir}/logs"
        )
    return executor


def load_build(script: str | Path):
    """The `build` function of a pipeline script, without running its __main__ block."""
    namespace = runpy.run_path(str(script), run_name="cosmo_pipeline")
    if "build" not in namespace:
        raise ValueError(f"{script} defines no build(opts) function")
    return namespace["build"]


def options_from(**kwargs) -> RunOptions:
    return RunOptions(**{k: v for k, v in kwargs.items() if v is not None})
