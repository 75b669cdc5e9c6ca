"""A selection of the released Cosmopedia, or of our own output: by format, audience, seed_data and a
topic keyword, as one filters the released dataset with `datasets` (and with the same values: our
records use the released vocabulary where a format or audience exists there).

    cosmo run subset --seeds hf://datasets/HuggingFaceTB/cosmopedia/data/stories --output stories-math \\
        --param "format=story_children,story_morality" --param topic=math
    cosmo run subset --seeds OUT/data --output OUT-college --param audience=college_students

`--seeds` are the records (released v0.1 or v2 parquet, our jsonl/parquet; any fsspec path). Each
param is a comma-separated list of shell patterns (`textbook*`); unset ones are not checked; `topic`
words match at the start of a word in the record's topic, else its prompt. The selection is written
in our schema to OUTPUT/data, token counts under `token_length` whatever the release called them.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.dataset import CosmopediaFilter, CosmopediaReader
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions
from cosmo_blocks.writers import CosmopediaParquetWriter

CRITERIA = ("format", "audience", "seed_data", "topic")


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the subset pipeline needs --seeds: the records to select from")
    chosen = {name: [v.strip() for v in opts.param(name, "").split(",") if v.strip()] for name in CRITERIA}
    chosen = {name: values for name, values in chosen.items() if values}
    if not chosen:
        raise ConfigError(
            f"a subset by what? give at least one of --param {', '.join(f'{c}=...' for c in CRITERIA)}"
        )
    return [
        CosmopediaReader(opts.seeds, limit=opts.limit),
        CosmopediaFilter(**chosen),
        CosmopediaParquetWriter(f"{opts.output}/data"),
    ]


if __name__ == "__main__":
    pipeline_main(build)
