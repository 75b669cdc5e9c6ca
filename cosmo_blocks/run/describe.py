"""The plan of a run as text (what `--dry-run` prints): read from the built steps, nothing started."""

import os

from cosmo_blocks.run.options import DEFAULT_MODEL_NOTE, RunOptions
from cosmo_blocks.run.settings import preset_path
from cosmo_blocks.run.stages import StagePlan

MAX_FILES_LISTED = 10


def size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _seed_lines(step) -> list[str]:
    files = step.seed_files()
    if not files and getattr(step, "from_earlier_stage", False):
        return [f"seeds: {step.data_folder.path}, written by an earlier stage"]
    lines = [f"seed files: {len(files)}, {size(sum(n for _, n in files))}"]
    lines += [f"  {path}  {size(n)}" for path, n in files[:MAX_FILES_LISTED]]
    if len(files) > MAX_FILES_LISTED:
        lines.append(f"  ... and {len(files) - MAX_FILES_LISTED} more")
    return lines


def step_lines(step) -> list[str]:
    """What a step will read or write, for the steps that say."""
    if hasattr(step, "seed_files"):
        return _seed_lines(step)
    asks = getattr(step, "generator", None)  # a StructuredAnnotator's questions go to its generator
    if asks is not None and hasattr(asks, "sampling"):
        constraint = "a JSON schema (structured outputs)" if asks.structured_outputs else "free text"
        return [f"asks {type(asks).__name__} for {constraint}", *step_lines(asks)]
    lines = []
    if hasattr(step, "sampling") and hasattr(step, "model"):
        endpoint = getattr(step, "endpoint", None)
        lines.append(f"model: {step.model or DEFAULT_MODEL_NOTE}" + (f" at {endpoint}" if endpoint else ""))
        if not endpoint and hasattr(step, "engine_kwargs"):
            kwargs = ", ".join(f"{k}={v}" for k, v in step.engine_kwargs.items())
            lines.append(f"engine: {kwargs or 'defaults'}")
    if isinstance(getattr(step, "sampling", None), dict):
        lines.append("sampling: " + ", ".join(f"{k}={v}" for k, v in step.sampling.items()))
    elif hasattr(step, "sampling") and hasattr(step, "model"):
        lines.append("sampling: the model's preset (small for SmolLM2-135M, default otherwise)")
    if getattr(step, "journal_dir", None) is not None:
        lines.append(f"journal: {getattr(step.journal_dir, 'path', step.journal_dir)}")
    folder = getattr(step, "output_folder", None)
    if folder is not None:
        lines.append(f"writes: {folder.path}")
    elif getattr(step, "data_folder", None) is not None:  # a datatrove reader of an earlier stage's output
        lines.append(f"reads: {step.data_folder.path}")
    writer = getattr(step, "exclusion_writer", None)
    if writer is not None and getattr(writer, "output_folder", None) is not None:
        lines.append(f"rejects: {writer.output_folder.path}")
    return lines


def step_name(step) -> str:
    return type(step).__name__ if not isinstance(step, list | tuple) else "documents"


def describe(opts: RunOptions, stages: list[StagePlan], script: str | None = None) -> str:
    settings = opts.settings
    lines = ["dry run: nothing started, nothing written"]
    if script:
        lines.append(f"pipeline: {script}")
    lines += [
        f"executor: {opts.kind} (preset {opts.executor}: {preset_path(opts.executor)})",
        f"model: {opts.model_description}",
        f"tensor parallel: {opts.tensor_parallel_size} GPU(s) per engine (gpus_per_task {settings.gpus_per_task})",
    ]
    if opts.endpoint:
        key = "set" if os.environ.get("OPENAI_API_KEY") else "not set"
        lines.append(f"endpoint: {opts.endpoint} (OPENAI_API_KEY {key} here)")
    lines.append(f"output: {opts.output}  logs: {opts.logging_dir}")
    if opts.asked:
        given = opts.given_params
        knobs = ", ".join(
            f"{k}={given.get(k, v)!r}{'' if k in given else ' (default)'}" for k, v in opts.asked.items()
        )
        lines.append(f"params: {knobs}")
    for stage in stages:
        workers = "all at once" if stage.workers == -1 else stage.workers
        lines.append(
            f"stage {stage.name}: {stage.tasks} task(s), workers {workers}, logs in {stage.logging_dir}"
        )
        for i, step in enumerate(stage.steps, 1):
            lines.append(f"  {i}. {step_name(step)}")
            lines += [f"       {line}" for line in step_lines(step)]
    return "\n".join(lines)
