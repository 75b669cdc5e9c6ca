"""The dataset end alone, over records already generated (ours, or any Cosmopedia-schema parquet/jsonl):
MinHash dedup, benchmark decontamination, the dataset, its report and card.

    cosmo run dataset --seeds OUT/generated --output OUT \\
        --param "benchmarks=mmlu=evals/mmlu.jsonl;arc=evals/arc.jsonl"
    cosmo run dataset --seeds hf://datasets/HuggingFaceTB/cosmopedia/data/stanford --output stanford-dedup

`--seeds` names the records (a folder, file or glob on any fsspec path); --tasks shards them (each
task needs at least one file). Stages: signatures, buckets (one task per bucket), clusters (1 task),
dedup (which also decontaminates and writes OUTPUT/data), report (1 task). `--param dedup=false`
leaves MinHash out, `decontamination=ngrams` uses datatrove's n-gram decontamination instead of
Cosmopedia's 10-gram + difflib method, `report=false` leaves the report and card out.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.dataset import CosmopediaReader, dataset_stages
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the dataset pipeline needs --seeds: the generated records (parquet or jsonl)")
    return dataset_stages(
        CosmopediaReader(opts.seeds, limit=opts.limit),
        opts.output,
        dedup=opts.param("dedup", True),
        benchmarks=opts.param("benchmarks", ""),
        decontamination=opts.param("decontamination", "difflib"),
        report=opts.param("report", True),
    )


if __name__ == "__main__":
    pipeline_main(build)
