"""Cosmopedia at scale: Mixtral-8x7B-Instruct with Cosmopedia's own sampling, every filter, parquet.

    cosmo run pipelines/cosmopedia.py --executor slurm --tasks 1000 --seeds s3://bucket/seeds/ \\
        --output s3://bucket/cosmo-run1

Seeds are read with `source="auto"` (each record's `source` field picks its adapter). Two prompts per
seed; Cosmopedia's >=150-token minimum on top of the seed document's 500 characters.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaParquetWriter


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ValueError("pipelines/cosmopedia.py needs --seeds (a file or folder of jsonl/parquet seeds)")
    return [
        SeedReader(opts.seeds, limit=opts.limit),
        TopicExtractor(context_chars=1000),
        PromptBuilder(variants=2),
        VLLMGenerator(
            opts.resolve_model(),
            sampling="cosmopedia",
            journal_dir=opts.journal_dir,
            seed=0,
            # Mixtral-8x7B in bf16 needs two 80 GB GPUs; the slurm preset gives each task two
            engine_kwargs={"tensor_parallel_size": 2} if opts.preset.get("executor") == "slurm" else {},
        ),
        *quality_filters(f"{opts.output}/rejects", min_chars=500, min_tokens=150),
        CosmopediaParquetWriter(f"{opts.output}/data"),
    ]


if __name__ == "__main__":
    pipeline_main(build)
