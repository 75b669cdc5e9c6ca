"""Cosmopedia v2's textbooks: a topic taxonomy grown by the LLM, seed pages for every subtopic found by
full-text search, and a textbook chapter per page, mostly for middle-school students.

    cosmo run topics_v2 --seeds corpus.jsonl --output out/v2
    cosmo run topics_v2 --seeds corpus.jsonl --param taxonomy=my_topics.txt --param pages_per_topic=50
    cosmo run topics_v2 --seeds s3-mounted/web/ --executor slurm --tasks 64

Four stages, each waiting for the one before:
- index (--tasks): every task indexes its share of the seeds into its own SQLite FTS5 file
  (OUTPUT/topics/index/RANK.sqlite; porter stemming);
- topics (1 task): the taxonomy's `Category > Subcategory > Subtopic` lines (the bundled list, or
  `--param taxonomy=FILE`; `--param topics=N`: its first N); the LLM proposes `expand` more
  subtopics for each (vLLM's structured outputs); written to OUTPUT/topics/list;
- enrich (1 task, unless `--param enrich=false`): the LLM names each topic's related concepts,
  difficulty and prerequisites (structured outputs again); OUTPUT/topics/enriched;
- generate (--tasks): topics dealt over the tasks (`--limit N`: N topics per task); for each, up to
  `pages_per_topic` pages from every index shard (bm25, the subtopic's words counted twice, a plain match
  as fallback, deduplicated); one textbook chapter per page, for middle-school students 40% of the
  time, college students 30%, the other textbook audiences 30% (Cosmopedia v2's mix).

The index is local SQLite: past one machine's disk see the README (Topic discovery). Needs the
`topics` extra for enrichment; retrieval needs only SQLite.
"""

from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.resources import bundled_dir
from cosmo_blocks.run import RunOptions, Stage
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.topics import FtsIndexer, FtsRetriever, SubtopicExpander, TaxonomyReader, TopicEnricher
from cosmo_blocks.writers import CosmopediaJsonlWriter

# Cosmopedia v2: middle school 40%, college 30%, the rest 30%
AUDIENCES = {
    "middle_school_students": 0.4,
    "college_students": 0.3,
    "young_children": 0.075,
    "high_school_studnets": 0.075,
    "general": 0.075,
    "researchers": 0.075,
}


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the topics_v2 pipeline needs --seeds (the pages to index and retrieve from)")
    taxonomy = opts.param("taxonomy", str(bundled_dir("pipelines") / "topics" / "taxonomy.txt"))
    expand = opts.param("expand", 3)
    enrich = opts.param("enrich", True)
    pages_per_topic = opts.param("pages_per_topic", 1000)
    index_dir, topics_dir = f"{opts.output}/topics/index", f"{opts.output}/topics/list"
    topic_steps = [TaxonomyReader(taxonomy, limit=opts.param("topics", -1))]
    if expand:
        asker = opts.generator(journal_dir=f"{opts.journal_dir}/expand", seed=0)
        topic_steps.append(SubtopicExpander(asker, n=expand))
    stages = [
        Stage("index", [SeedReader(opts.seeds), FtsIndexer(index_dir)]),
        Stage(
            "topics",
            [*topic_steps, JsonlWriter(topics_dir, compression=None)],
            tasks=1,
        ),
    ]
    if enrich:  # a stage of its own: one engine at a time on the task's GPUs
        enriched_dir, topics_dir = topics_dir, f"{opts.output}/topics/enriched"
        asker = opts.generator(journal_dir=f"{opts.journal_dir}/enrich", seed=0)
        stages.append(
            Stage(
                "enrich",
                [
                    SeedReader(enriched_dir, from_earlier_stage=True),
                    TopicEnricher(asker, keep_unanswered=True),
                    JsonlWriter(topics_dir, compression=None),
                ],
                tasks=1,
            )
        )
    return [
        *stages,
        Stage(
            "generate",
            [
                SeedReader(topics_dir, limit=opts.limit, from_earlier_stage=True),
                FtsRetriever(index_dir, pages_per_topic=pages_per_topic),
                TopicExtractor(),
                PromptBuilder(mix={"textbook": 1}, audiences=AUDIENCES),
                opts.generator(),
                *quality_filters(f"{opts.output}/rejects"),
                CosmopediaJsonlWriter(f"{opts.output}/data"),
            ],
        ),
    ]


if __name__ == "__main__":
    pipeline_main(build)
