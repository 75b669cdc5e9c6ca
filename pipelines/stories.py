"""Cosmopedia's stories subset: a user question (UltraChat, OpenHermes) inspires a story for young
children, a morality tale, a problem-solving story, a forum story or a reddit post.

    cosmo run stories --output out/stories
    cosmo run stories --seeds questions.jsonl --param variants=5

Each seed's `text` is the question; the prompt quotes its first 1,000 characters. `--param
variants=5` writes every style per question. Without --seeds it runs on the bundled sample of 30
questions.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    return subset_steps(
        opts,
        "stories",
        seed_data="stories",
        expand=[TopicExtractor(context_chars=1000)],
        variants=opts.param("variants", 1),
    )


if __name__ == "__main__":
    pipeline_main(build)
