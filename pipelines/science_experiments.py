"""Science experiments: a phenomenon becomes an experiment write-up with its materials, its steps
and its safety notes, each checked present (a missing one is a named drop, OUTPUT/rejects/science).

    cosmo run science_experiments --output out/science_experiments
    cosmo run science_experiments --seeds phenomena.jsonl --param language=ko

Without --seeds it runs on the bundled sample of phenomena.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import ScienceExperimentFilter
from cosmo_blocks.recipes import rejects, subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    check = ScienceExperimentFilter(
        formats=("science_experiment",), exclusion_writer=rejects(opts, "science")
    )
    return subset_steps(
        opts,
        "science_experiments",
        seed_data="science_phenomena",
        expand=[TopicExtractor(context_chars=1000)],
        checks=[check],
    )


if __name__ == "__main__":
    pipeline_main(build)
