"""Cosmopedia's wikihow subset: a wikiHow article title becomes a long, detailed tutorial.

    cosmo run wikihow --output out/wikihow
    cosmo run wikihow --seeds titles.jsonl --param language=ko

Each seed's `text` (and `title`) is one title, e.g. "How to Repot a Snake Plant". Without --seeds it
runs on the bundled sample of 30 titles.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    return subset_steps(opts, "wikihow", seed_data="wikihow", expand=[TopicExtractor(context_chars=1000)])


if __name__ == "__main__":
    pipeline_main(build)
