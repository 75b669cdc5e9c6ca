"""Cosmopedia's web samples: a web page's extract becomes a textbook unit (academic or narrative),
a blog post or a wikiHow tutorial, within its cluster's topic half of the time.

    cosmo run web_samples --output out/web_samples
    cosmo run web_samples --seeds clustered_pages/ --param seed_data=web_samples_v2 --param variants=4

Seeds carry `text` (the page) and `topic` (its cluster's topic, as `cosmo run web_topics` writes
it); the prompt quotes the page's first 1,000 characters. `--param variants=4` writes all four
styles per page, as Cosmopedia did; `--param language=ko` uses the Korean templates. Without
--seeds it runs on the bundled sample of 30 pages.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    return subset_steps(
        opts,
        "web_samples",
        seed_data=opts.param("seed_data", "web_samples_v1"),
        expand=[TopicExtractor(context_chars=1000)],
        variants=opts.param("variants", 1),
    )


if __name__ == "__main__":
    pipeline_main(build)
