"""Quickstart: seeds -> topics -> prompts (all five formats) -> vLLM -> filters -> Cosmopedia dataset.

    python pipelines/quickstart.py --output output/quickstart
    cosmo run pipelines/quickstart.py --seeds my_seeds.jsonl --model mistralai/Mixtral-8x7B-Instruct-v0.1

Without a GPU it generates with a tiny random-weight stand-in model (and says so).
"""

from pathlib import Path

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaJsonlWriter

BUNDLED_SEEDS = str(Path(__file__).parent / "seeds" / "sample.jsonl")


def build(opts: RunOptions) -> list:
    return [
        SeedReader(opts.seeds or BUNDLED_SEEDS, limit=opts.limit),
        TopicExtractor(),
        PromptBuilder(variants=2),  # 60 prompts from the 30 bundled seeds: every format appears
        VLLMGenerator(opts.resolve_model(), journal_dir=opts.journal_dir),
        *quality_filters(f"{opts.output}/rejects"),
        CosmopediaJsonlWriter(f"{opts.output}/data"),
    ]


if __name__ == "__main__":
    pipeline_main(build)
