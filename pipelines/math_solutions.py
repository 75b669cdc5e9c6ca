"""Step-by-step math solutions: a problem becomes a worked solution ending in a "Final answer:" line,
which sympy checks against the working and, where the seed knows it, against the true answer.

    cosmo run math_solutions --output out/math_solutions
    cosmo run math_solutions --seeds problems.jsonl --param language=ko

Seeds carry `text` (the problem) and, optionally, `answer` (never shown in the prompt). A solution
whose final answer disagrees with the seed's, or whose arithmetic does not hold, is dropped with its
reason (OUTPUT/rejects/math). Needs the `math` extra (sympy). Without --seeds it runs on the bundled
sample of problems.
"""

from cosmo_blocks import keys
from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import MathAnswerFilter
from cosmo_blocks.recipes import rejects, subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    check = MathAnswerFilter(
        formats=("math_solution",), answer_key=keys.ANSWER, exclusion_writer=rejects(opts, "math")
    )
    return subset_steps(
        opts,
        "math_solutions",
        seed_data="math_problems",
        expand=[TopicExtractor(context_chars=1000)],
        checks=[check],
    )


if __name__ == "__main__":
    pipeline_main(build)
