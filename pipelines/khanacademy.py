"""Cosmopedia's khanacademy subset: one lesson of a course at a time, naming the chapters and the
lessons already covered.

    cosmo run khanacademy --output out/khanacademy
    cosmo run khanacademy --seeds courses.jsonl --param language=ko

A seed is a whole course: `title`, `text` (its description) and `chapters`, each with its `units`
(lesson titles); CourseUnits deals them out one prompt per lesson. Without --seeds it runs on the
bundled sample of courses.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import CourseUnits


def build(opts: RunOptions) -> list:
    return subset_steps(opts, "khanacademy", seed_data="khanacademy", expand=[CourseUnits()])


if __name__ == "__main__":
    pipeline_main(build)
