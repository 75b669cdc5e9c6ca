"""The dataset end as the stages a pipeline appends after generation.

    stages = [Stage("generate", [..., CosmopediaParquetWriter(f"{out}/generated")]),
              *dataset_stages(CosmopediaReader(f"{out}/generated"), out, benchmarks=...)]

Layout of `output`: `data/` the dataset (parquet), `dedup/` MinHash's working files and `dedup/removed/`
the duplicates, `contaminated/` what decontamination dropped (with its `filter_reason`),
`report/index.html` and `README.md` (the dataset card).
"""

from cosmo_blocks.dataset.decontamination import BenchmarkDecontaminator, BenchmarkFile, parse_benchmarks
from cosmo_blocks.dataset.dedup import minhash_stages
from cosmo_blocks.dataset.report import ReportWriter
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.stages import Stage
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter


def dataset_stages(
    records,
    output: str,
    dedup: bool = True,
    benchmarks: str | dict[str, BenchmarkFile | str] | None = None,
    decontamination: str = "difflib",
    report: bool = True,
    tasks: int | None = None,
) -> list[Stage]:
    """MinHash dedup (signatures, buckets, clusters, dedup), benchmark decontamination in the dedup
    pass, the dataset writer, then the report and card.

    `records` is a reader of the generated records (read twice by the MinHash stages, in the same
    order); `benchmarks` a `NAME=PATH;...` string or a dict (see `parse_benchmarks`); `tasks` the task
    count of the record-reading stages (None: the run's). With `dedup=False` the decontamination and
    the writer run in one stage, "decontaminate"; with neither there is no dataset to make.
    """
    out = output.rstrip("/")
    steps = [CosmopediaParquetWriter(f"{out}/data")]
    if benchmarks:
        parsed = parse_benchmarks(benchmarks) if isinstance(benchmarks, str | list) else benchmarks
        contaminated = CosmopediaJsonlWriter(f"{out}/contaminated", rejects=True)
        steps.insert(0, BenchmarkDecontaminator(parsed, decontamination, exclusion_writer=contaminated))
    if dedup:
        removed = CosmopediaJsonlWriter(f"{out}/dedup/removed", rejects=True)
        stages = minhash_stages(records, f"{out}/dedup", then=steps, tasks=tasks, removed_writer=removed)
    elif benchmarks:
        stages = [Stage("decontaminate", [records, *steps], tasks)]
    else:
        raise ConfigError("the dataset end needs dedup, benchmarks to decontaminate against, or both")
    if report:
        stages.append(Stage("report", [ReportWriter(out)], tasks=1))
    return stages
