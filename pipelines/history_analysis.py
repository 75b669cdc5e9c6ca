"""Historical event analysis: an event's summary becomes an analysis of its causes, course and
consequences whose dates must agree with one another (an end before its start, a death before a
birth, a date in the future are named drops, OUTPUT/rejects/history).

    cosmo run history_analysis --output out/history_analysis
    cosmo run history_analysis --seeds events.jsonl --param language=ko

Without --seeds it runs on the bundled sample of events.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.filters import HistoricalDatesFilter
from cosmo_blocks.recipes import rejects, subset_steps
from cosmo_blocks.run import RunOptions
from cosmo_blocks.seeds import TopicExtractor


def build(opts: RunOptions) -> list:
    check = HistoricalDatesFilter(formats=("history_analysis",), exclusion_writer=rejects(opts, "history"))
    return subset_steps(
        opts,
        "history_analysis",
        seed_data="historical_events",
        expand=[TopicExtractor(context_chars=1000)],
        checks=[check],
    )


if __name__ == "__main__":
    pipeline_main(build)
