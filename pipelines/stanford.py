"""Cosmopedia's stanford subset, in two generation stages: a course's title and description become a
course outline (chapters and their sub-units, as JSON through vLLM's structured outputs), then each
sub-unit becomes a textbook unit that names the chapters and sub-units already covered, for young
children, high-school or college students, or researchers.

    cosmo run stanford --output out/stanford
    cosmo run stanford --seeds courses.jsonl --param variants=4
    cosmo prompts render --pipeline stanford --output out/stanford   # the units' prompts, after a run

Stages, each waiting for the one before:
- outlines: OUTPUT/outlines, one record per course with its `chapters` (logistics units such as
  exams and assignments dropped);
- units: OUTPUT/data, with the quality filters' rejects in OUTPUT/rejects.

Seeds carry `title` (the course) and `text` (its catalog description). Without --seeds it runs on
the bundled sample of courses.
"""

from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import recipe_builder, recipe_seeds, subset_steps
from cosmo_blocks.run import RunOptions, Stage
from cosmo_blocks.seeds import CourseUnits, SeedReader, TopicExtractor
from cosmo_blocks.topics import CourseOutliner


def build(opts: RunOptions) -> list:
    out = opts.output.rstrip("/")
    outliner = CourseOutliner(opts.generator(journal_dir=f"{opts.journal_dir}/outlines", seed=0))
    outlines = [
        SeedReader(opts.seeds or recipe_seeds("stanford"), seed_data="stanford", limit=opts.limit),
        TopicExtractor(context_chars=1000),
        recipe_builder(opts, "stanford", mix={"course_outline": 1}),
        outliner,
        JsonlWriter(f"{out}/outlines", compression=None),  # read by people too
    ]
    units = subset_steps(
        opts,
        "stanford",
        seed_data="stanford",
        reader=SeedReader(f"{out}/outlines", seed_data="stanford", from_earlier_stage=True),
        expand=[CourseUnits()],
        mix={"textbook": 1},
        variants=opts.param("variants", 1),
    )
    return [Stage("outlines", outlines), Stage("units", units)]


if __name__ == "__main__":
    pipeline_main(build)
