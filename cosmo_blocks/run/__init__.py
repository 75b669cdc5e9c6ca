"""Running a pipeline script: options, executor presets, and the `build(opts)` contract.

A pipeline script defines `build(opts: RunOptions)` returning its list of steps (or a list of
`Stage`s that run one after another: generation, then statistics or dedup) and ends with

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
from cosmo_blocks.resources import bundled_dir

PRESETS_DIR = bundled_dir("executors")
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
    # SLURM: command-line values that win over the preset's fields
    partition: str | None = None
    time: str | None = None
    qos: str | None = None
    settings: tuple = ()  # "key=value" (TOML value) for any preset field, e.g. gpus_per_task=1
    preset: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)

    def __post_init__(self):
        self.logging_dir = self.logging_dir or f"{self.output.rstrip('/')}/logs"
        self.preset = load_preset(self.executor)
        self.overrides = parse_settings(self.settings) | {
            key: value
            for key, value in (("partition", self.partition), ("time", self.time), ("qos", self.qos))
            if value is not None
        }
        # what the command line said, before preset defaults fill in (a stage's own preset may differ)
        self.cli_tasks, self.cli_workers = self.tasks, self.workers
        self.tasks = self.tasks or self.overrides.get("tasks") or self.preset.get("tasks", 1)
        self.workers = self.workers or self.overrides.get("workers") or self.preset.get("workers", -1)

    @property
    def journal_dir(self) -> str:
        return f"{self.logging_dir}/journal"

    def resolve_model(self) -> str:
        """The model to load: --model, else Mixtral on a GPU, else the tiny stand-in (said loudly)."""
        if self.model:
            return self.model
        if eng.gpu_available():
            return eng.DEFAULT_MODEL
        from cosmo_blocks.generation.tiny_model import build_tiny_model, is_current_tiny_model

        if not is_current_tiny_model(TINY_MODEL_DIR):
            build_tiny_model(TINY_MODEL_DIR)
        logger.warning(
            "\n" + "!" * 78 + "\n!! No GPU found: generating with the TINY random-weight stand-in model at\n"
            f"!! {TINY_MODEL_DIR}. Its text is noise. Pass --model to choose a real one.\n" + "!" * 78
        )
        return str(TINY_MODEL_DIR)


@dataclass
class Stage:
    """One stage of a multi-stage pipeline: its steps, and optionally its own task count and preset.

    `build(opts)` may return `[Stage("generate", [...]), Stage("stats", [...], tasks=1, preset="slurm-cpu")]`.
    Stages run in order; on SLURM they are submitted together, each waiting (afterok) for the previous
    one. A stage's logs go to `{logging_dir}/{name}`. `preset` applies only when the run itself uses a
    preset of the same kind (a local run stays local).
    """

    name: str
    steps: list
    tasks: int | None = None
    preset: str | None = None
    workers: int | None = None


def parse_settings(settings) -> dict:
    """`--set key=value` pairs; values are TOML (numbers, true/false, "strings"), else plain strings."""
    parsed = {}
    for item in settings or ():
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects key=value, got {item!r}")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        parsed[key.strip()] = value
    return parsed


def load_preset(name: str) -> dict:
    """`local`, `slurm`, `slurm-NAME` (files in executors/) or a path to a .toml preset."""
    path = Path(name) if name.endswith(".toml") else PRESETS_DIR / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))
        raise ValueError(
            f"unknown executor preset {name!r}; known presets: {', '.join(known)} (or a .toml path)"
        )
    try:
        preset = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"executor preset {path}: invalid TOML: {e}") from None
    preset.setdefault("executor", "slurm" if path.stem.startswith("slurm") else "local")
    from cosmo_blocks.slurm import check_preset_keys

    check_preset_keys(preset, str(path))  # a typo fails here, before anything runs or is submitted
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


def as_stages(built: list) -> list[Stage] | None:
    """None for a plain list of steps (one stage, logs directly in logging_dir)."""
    if built and all(isinstance(item, Stage) for item in built):
        names = [stage.name for stage in built]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        return built
    if any(isinstance(item, Stage) for item in built):
        raise ValueError("build(opts) must return either steps or Stage objects, not a mix")
    return None


def run_pipeline(build, opts: RunOptions):
    built = build(opts)
    stages = as_stages(built)
    kind = opts.preset["executor"]
    if kind == "slurm":
        return _submit_slurm(built, stages, opts)
    if stages is None:
        executor = make_executor(built, opts)
        executor.run()
        logger.info(
            f"output: {opts.output}  stats: {opts.logging_dir}/stats.json  logs: {opts.logging_dir}/logs"
        )
        return executor
    return _run_local_stages(stages, opts)


def _stage_preset(stage: Stage, opts: RunOptions) -> dict:
    if stage.preset is None:
        return opts.preset
    preset = load_preset(stage.preset)
    return preset if preset["executor"] == opts.preset["executor"] else opts.preset


def _stage_tasks(stage: Stage, opts: RunOptions, preset: dict) -> int:
    # a stage's own task count is part of the pipeline (a stats stage with 1 task); --tasks sets the rest
    return stage.tasks or opts.cli_tasks or opts.overrides.get("tasks") or preset.get("tasks", 1)


def _run_local_stages(stages: list[Stage], opts: RunOptions):
    """Stages one after another; a stage with an unfinished task stops the run with a clear error.

    (datatrove's own `depends=` would wait forever, polling every 2 minutes, on a failed task.)
    """
    from datatrove.executor import LocalPipelineExecutor

    executor = None
    for stage in stages:
        preset = _stage_preset(stage, opts)
        executor = LocalPipelineExecutor(
            stage.steps,
            tasks=_stage_tasks(stage, opts, preset),
            workers=stage.workers or opts.cli_workers or preset.get("workers", -1),
            logging_dir=f"{opts.logging_dir}/{stage.name}",
        )
        executor.run()
        incomplete = executor.get_incomplete_ranks(skip_completed=True)
        if incomplete:
            raise RuntimeError(
                f"stage {stage.name!r}: {len(incomplete)} task(s) did not complete ({incomplete[:10]}); "
                f"later stages not run. See `cosmo status {opts.logging_dir}` and rerun to resume."
            )
        logger.info(f"stage {stage.name!r} done: logs in {opts.logging_dir}/{stage.name}")
    return executor


def _submit_slurm(built: list, stages: list[Stage] | None, opts: RunOptions):
    from cosmo_blocks.slurm import make_slurm_executor, submit

    if stages is None:
        executors = [("main", make_slurm_executor(built, opts))]
    else:
        executors = []
        for stage in stages:
            preset = _stage_preset(stage, opts)
            executors.append(
                (
                    stage.name,
                    make_slurm_executor(
                        stage.steps,
                        opts,
                        preset=preset,
                        tasks=_stage_tasks(stage, opts, preset),
                        workers=stage.workers,
                        logging_dir=f"{opts.logging_dir}/{stage.name}",
                    ),
                )
            )
    submit(executors, opts, record_path=_record_path(opts))
    if not opts.dry_run:
        logger.info(f"watch it with: cosmo status {opts.logging_dir}")
    return executors[-1][1]


def _record_path(opts: RunOptions) -> str | None:
    """Where job ids are written for `cosmo status` (only on a local/shared filesystem path)."""
    return None if "://" in opts.logging_dir else f"{opts.logging_dir}/cosmo_run.json"


def load_build(script: str | Path):
    """The `build` function of a pipeline script, without running its __main__ block."""
    namespace = runpy.run_path(str(script), run_name="cosmo_pipeline")
    if "build" not in namespace:
        raise ValueError(f"{script} defines no build(opts) function")
    return namespace["build"]


def options_from(**kwargs) -> RunOptions:
    return RunOptions(**{k: v for k, v in kwargs.items() if v is not None})
