"""Cosmopedia's openstax subset: one unit of a textbook at a time, naming the book, its chapter and
section and the units already covered, for young children or middle-school students (an e-learning
module), college students (a textbook unit) or researchers (a journal article), with the unit's own
text as inspiration where the book has it.

    cosmo run openstax --output out/openstax
    cosmo run openstax --seeds books.jsonl --param variants=4

A seed is a whole book: `title`, `text` (its description) and `chapters`, each with `units` or
`sections` of units (a title, or {"title", "text"}); CourseUnits deals them out one prompt per unit.
Without --seeds it runs on the bundled sample of books.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import CourseUnits


def build(opts: RunOptions) -> list:
    return subset_steps(
        opts, "openstax", seed_data="openstax", expand=[CourseUnits()], variants=opts.param("variants", 1)
    )


if __name__ == "__main__":
    pipeline_main(build)
