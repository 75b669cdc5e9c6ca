"""Real and synthetic text mixed at a token ratio alpha, the synthetic share of tokens (default 0.5,
half and half).

    cosmo run mix --seeds fineweb/ --param synthetic=OUT/data --output mixed --param alpha=0.5 \\
        --param real_name=fineweb

`--seeds` is the real corpus (any jsonl/parquet records with `text`), `synthetic` the generated
records (our OUTPUT/data, or the released Cosmopedia's parquet); both on any fsspec path. Each task
mixes its own shard of both sides (datatrove shards by file: give each side at least as many files
as --tasks), deterministically; every record gets `source` ("synthetic" or `real_name`) and the
stats the achieved alpha (`cosmo status` / `logs/stats.json`). A task stops when the side the ratio
needs runs out (`--param on_exhausted=emit_rest` emits the rest of the other side instead).
`--param tokenizer=DIR` counts every document with one tokenizer; otherwise the records' own
token_length, else characters / 4.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.dataset import CosmopediaReader, Mixer
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions
from cosmo_blocks.writers import CosmopediaParquetWriter


def build(opts: RunOptions) -> list:
    synthetic = opts.param("synthetic", "")
    if not opts.seeds or not synthetic:
        raise ConfigError("the mix pipeline needs --seeds (the real text) and --param synthetic=PATH")
    mixer = Mixer(
        CosmopediaReader(opts.seeds),
        CosmopediaReader(synthetic),
        alpha=opts.param("alpha", 0.5),
        real_name=opts.param("real_name", "real"),
        on_exhausted=opts.param("on_exhausted", "stop"),
        tokenizer=opts.param("tokenizer", "") or None,
    )
    return [mixer, CosmopediaParquetWriter(f"{opts.output}/data")]


if __name__ == "__main__":
    pipeline_main(build)
