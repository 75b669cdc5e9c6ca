"""Cosmopedia at scale: Mixtral-8x7B-Instruct with Cosmopedia's own sampling, every filter, then the
dataset end (MinHash dedup, benchmark decontamination, the report and the dataset card).

    cosmo run cosmopedia --executor slurm --tasks 1000 --seeds s3://bucket/seeds/ \\
        --output s3://bucket/cosmo-run1 --param "benchmarks=mmlu=evals/mmlu.jsonl;arc=evals/arc.jsonl"

Seeds are read with `source="auto"` (each record's `source` field picks its adapter). Two prompts per
seed; Cosmopedia's >=150-token minimum on top of a 500-character minimum. Each engine spans the
preset's GPUs per task (2 in the slurm preset: Mixtral-8x7B in bf16), or --tensor-parallel N.

Stages, each waiting for the one before:
- generate (--tasks): records to OUTPUT/generated, quality-filter rejects to OUTPUT/rejects;
- signatures, buckets (one task per bucket), clusters (1 task), dedup: datatrove's MinHash with
  Cosmopedia's config (5-grams, 14 buckets x 8 hashes); the dedup pass also decontaminates against the
  `benchmarks` files (Cosmopedia's 10-gram + difflib method; `--param decontamination=ngrams` for
  datatrove's) and writes the dataset, OUTPUT/data; removed documents go to OUTPUT/dedup/removed and
  OUTPUT/contaminated with their reason;
- report (1 task): OUTPUT/report/index.html and the dataset card OUTPUT/README.md
  (`cosmo report OUTPUT --push-to-hub REPO` uploads them with the data).

On the GPU `slurm` and `ray` presets the stages after generation run on `slurm-cpu` and `ray-cpu`. `--param
dedup=false` or `report=false` leave a stage out; without `benchmarks` nothing is decontaminated.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.dataset import CosmopediaReader, ReportWriter, dataset_stages
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import RunOptions, Stage
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaParquetWriter


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the cosmopedia pipeline needs --seeds (a file or folder of jsonl/parquet seeds)")
    dedup, report = opts.param("dedup", True), opts.param("report", True)
    benchmarks = opts.param("benchmarks", "")
    decontamination = opts.param("decontamination", "difflib")
    out = opts.output.rstrip("/")
    dataset_end = dedup or bool(benchmarks)
    generate = Stage(
        "generate",
        [
            SeedReader(opts.seeds, limit=opts.limit),
            TopicExtractor(context_chars=1000),
            PromptBuilder(variants=2),
            opts.generator(sampling="cosmopedia", seed=0),
            *quality_filters(f"{out}/rejects", min_chars=500, min_tokens=150),
            CosmopediaParquetWriter(f"{out}/generated" if dataset_end else f"{out}/data"),
        ],
    )
    if not dataset_end:
        return [generate, *([Stage("report", [ReportWriter(out)], tasks=1)] if report else [])]
    records = CosmopediaReader(f"{out}/generated", from_earlier_stage=True)
    after = dataset_stages(records, out, dedup, benchmarks, decontamination, report)
    if opts.executor in ("slurm", "ray"):  # the GPU presets: what follows generation needs no GPU
        for stage in after:
            stage.preset = f"{opts.executor}-cpu"
    return [generate, *after]


if __name__ == "__main__":
    pipeline_main(build)
