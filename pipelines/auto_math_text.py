"""Cosmopedia's auto_math_text subset: a math web page's snippet becomes an educational piece for
college students (rigorous, applied) or for grade-school students (an everyday alternative to a
college topic, no LaTeX).

    cosmo run auto_math_text --output out/auto_math_text
    cosmo run auto_math_text --seeds hf://datasets/math-ai/AutoMathText/data/web/0.50-1.00 --param variants=2

`--param variants=2` writes both audiences per page, as Cosmopedia did. Without --seeds it runs on
the bundled sample of 30 snippets.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    return subset_steps(
        opts,
        "auto_math_text",
        seed_data="auto_math_text",
        expand=[TopicExtractor(context_chars=1000)],
        variants=opts.param("variants", 1),
    )


if __name__ == "__main__":
    pipeline_main(build)
