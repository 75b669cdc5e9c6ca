"""The `cosmo` command."""

import functools
import sys

import click

from cosmo_blocks.run import load_build, options_from, run_pipeline


def pipeline_options(f):
    """The options every pipeline takes, for `cosmo run` and `python pipelines/NAME.py` alike."""
    options = [
        click.option("--seeds", help="Seed file or folder (jsonl/parquet, any fsspec path)."),
        click.option("--executor", help="local, slurm, slurm-NAME (executors/*.toml) or a .toml path."),
        click.option("--tasks", type=int, help="Number of tasks (shards)."),
        click.option("--workers", type=int, help="Tasks running at once (local executor)."),
        click.option("--limit", type=int, help="At most this many seeds per task."),
        click.option(
            "--model", help="Hub id or local model folder (default: Mixtral on GPU, tiny model on CPU)."
        ),
        click.option("--output", help="Output folder (default: output)."),
        click.option("--logging-dir", help="Logs, stats, journals, completions (default: OUTPUT/logs)."),
        click.option("--dry-run", is_flag=True, default=None, help="SLURM: print the sbatch script only."),
        click.option("--partition", help="SLURM partition (overrides the preset)."),
        click.option("--time", help="SLURM time limit per task, e.g. 24:00:00 (overrides the preset)."),
        click.option("--qos", help="SLURM QoS (overrides the preset)."),
        click.option(
            "--set",
            "settings",
            multiple=True,
            metavar="KEY=VALUE",
            help="Override any preset field (TOML value), e.g. --set gpus_per_task=1. Repeatable.",
        ),
    ]
    return functools.reduce(lambda acc, option: option(acc), reversed(options), f)


@click.group()
def main():
    """cosmo-blocks: Cosmopedia-style synthetic data with datatrove blocks and vLLM."""


@main.command("run")
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False))
@pipeline_options
def run_cmd(pipeline, **kwargs):
    """Run a pipeline script (one that defines build(opts))."""
    from cosmo_blocks.slurm import SlurmPresetError

    try:
        run_pipeline(load_build(pipeline), options_from(**kwargs))
    except SlurmPresetError as e:  # a configuration problem: the message says what to change
        raise click.ClickException(str(e)) from None


def pipeline_main(build):
    """Entry point for `if __name__ == "__main__": pipeline_main(build)` in a pipeline script."""

    @click.command()
    @pipeline_options
    def command(**kwargs):
        run_pipeline(build, options_from(**kwargs))

    command(prog_name=sys.argv[0])


@main.command("status")
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


@main.group()
def prompts():
    """Look at prompts without any engine."""


@prompts.command("render")
@click.option("--seeds", required=True, help="Seed file or folder.")
@click.option("-n", "count", type=int, default=5, show_default=True, help="How many prompts.")
@click.option("--format", "format_", help="Only this format.")
@click.option("--audience", help="Only this audience.")
@click.option("--language", default="en", show_default=True)
@click.option("--variants", type=int, default=1, show_default=True, help="Prompts per seed.")
def prompts_render(seeds, count, format_, audience, language, variants):
    """Print the first N prompts built from SEEDS."""
    from itertools import islice

    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    builder = PromptBuilder(
        mix={format_: 1} if format_ else None,
        audiences=[audience] if audience else None,
        language=language,
        variants=variants,
    )
    steps = [SeedReader(seeds), TopicExtractor(), builder]
    data = None
    for step in steps:
        data = step(data)
    for doc in islice(data, count):
        meta = doc.metadata
        click.secho(
            f"=== {doc.id}  format={meta['format']} audience={meta['audience']} "
            f"language={meta['language']} topic={meta['topic']!r}",
            bold=True,
        )
        click.echo(meta["prompt"])


@main.command("tiny-model")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--seed", type=int, default=0, show_default=True)
def tiny_model(directory, seed):
    """Build the tiny random-weight Mixtral stand-in in DIRECTORY."""
    from cosmo_blocks.generation import build_tiny_model

    path = build_tiny_model(directory, seed=seed)
    click.echo(f"tiny Mixtral written to {path}")


if __name__ == "__main__":
    main()
