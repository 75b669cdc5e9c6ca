"""Code textbooks: a programming topic becomes a textbook section whose Python examples really run.

    cosmo run code_textbook --output out/code_textbook
    cosmo run code_textbook --seeds topics.jsonl --param language=ko

Every ```python block runs in the sandbox (the standard library; numpy, pandas, sympy and headless
matplotlib where the sandbox has its scientific stack, see the README): a section whose code fails,
or imports a module that no package provides, is dropped with its reason (OUTPUT/rejects/code); code
that needs a real package the sandbox lacks is kept, marked code_unverified. The share that runs is
in the stats: code_ok of code_programs_run. Without --seeds it runs on the bundled sample of topics.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.recipes import subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    # the quality filters end with the code-execution filter: nothing more to add
    return subset_steps(
        opts, "code_textbook", seed_data="programming_topics", expand=[TopicExtractor(context_chars=1000)]
    )


if __name__ == "__main__":
    pipeline_main(build)
