"""Cosmopedia at scale: Mixtral-8x7B-Instruct with Cosmopedia's own sampling, every filter, parquet.

    cosmo run cosmopedia --executor slurm --tasks 1000 --seeds s3://bucket/seeds/ \\
        --output s3://bucket/cosmo-run1

Seeds are read with `source="auto"` (each record's `source` field picks its adapter). Two prompts per
seed; Cosmopedia's >=150-token minimum on top of a 500-character minimum. Each engine spans the
preset's GPUs per task (2 in the slurm preset: Mixtral-8x7B in bf16), or --tensor-parallel N.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaParquetWriter


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the cosmopedia pipeline needs --seeds (a file or folder of jsonl/parquet seeds)")
    return [
        SeedReader(opts.seeds, limit=opts.limit),
        TopicExtractor(context_chars=1000),
        PromptBuilder(variants=2),
        opts.generator(sampling="cosmopedia", seed=0),
        *quality_filters(f"{opts.output}/rejects", min_chars=500, min_tokens=150),
        CosmopediaParquetWriter(f"{opts.output}/data"),
    ]


if __name__ == "__main__":
    pipeline_main(build)
