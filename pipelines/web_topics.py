"""Cosmopedia v1's web topics: cluster a sample of the seeds, let the LLM name and rate each cluster,
then write about every seed that falls in a kept cluster, within the context of its topic.

    cosmo run web_topics --seeds corpus.jsonl --output out/web
    cosmo run web_topics --seeds s3://bucket/web/ --executor slurm --tasks 500 --param fit_sample=100000

Three stages, each waiting for the one before:
- fit (1 task): embed the first `fit_sample` seeds with all-MiniLM-L6-v2, project them with UMAP,
  cluster them, save the model in OUTPUT/topics/clusters. HDBSCAN by default (min_cluster_size 1% of
  the sample, min_samples 10, leaf), which was proposed for Cosmopedia and keeps the number of
  clusters to label sane at any sample size (35 at 10k Debian documents, where DBSCAN at Cosmopedia's
  density gave 318); `--param algorithm=dbscan` for Cosmopedia's own;
- label (1 task): the LLM names each cluster and rates its educational value 1-10 from 10 samples of
  420 characters, its answer forced into JSON by vLLM's structured outputs;
- generate (--tasks): every seed gets its nearest fitted neighbour's cluster; seeds in noise, in a
  denied cluster or in one rated below `min_score` are counted and dropped; the rest become prompts
  (the topic named half of the time, as Cosmopedia did), generations, filtered records, whose
  `seed_data` is "web_samples_v1", the name of the released subset made this way.

Cosmopedia removed clusters by a hand list after reading their names; `deny` holds words from that
list (gambling, adult content, celebrity gossip, ...), `min_score` adds the threshold it did not have.
Needs the `topics` extra.
"""

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import quality_filters
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.run import RunOptions, Stage
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.topics import (
    ClusterAssigner,
    ClusterFitter,
    ClusterLabeller,
    ClusterLabelWriter,
    ClusterSamples,
)
from cosmo_blocks.writers import CosmopediaJsonlWriter

# words of the clusters Cosmopedia removed by hand (prompts/web_samples/filter_and_classify_clusters.py)
DENY = [
    "gambling",
    "casino",
    "adult",
    "explicit",
    "prostitution",
    "celebrity gossip",
    "obituar",
    "cookies and privacy",
    "steroid",
    "male enhancement",
    "weight loss",
    "e-commerce",
    "sales promotion",
]


def build(opts: RunOptions) -> list:
    if not opts.seeds:
        raise ConfigError("the web_topics pipeline needs --seeds (the web pages to cluster and write from)")
    fit_sample = opts.param("fit_sample", 10_000)
    algorithm = opts.param("algorithm", "hdbscan")
    min_score = opts.param("min_score", 3)
    deny = opts.param("deny", DENY)
    model_dir = f"{opts.output}/topics/clusters"
    return [
        Stage(
            "fit",
            [SeedReader(opts.seeds, limit=fit_sample), ClusterFitter(model_dir, algorithm=algorithm)],
            tasks=1,
        ),
        Stage(
            "label",
            [
                ClusterSamples(model_dir),
                ClusterLabeller(opts.generator(journal_dir=f"{opts.journal_dir}/label", seed=0)),
                ClusterLabelWriter(model_dir),
            ],
            tasks=1,
        ),
        Stage(
            "generate",
            [
                SeedReader(opts.seeds, limit=opts.limit, seed_data="web_samples_v1"),
                TopicExtractor(),
                ClusterAssigner(model_dir, min_score=min_score or None, deny=deny),
                PromptBuilder(topic_clause_share=opts.param("topic_share", 0.5)),
                opts.generator(),
                *quality_filters(f"{opts.output}/rejects"),
                CosmopediaJsonlWriter(f"{opts.output}/data"),
            ],
        ),
    ]


if __name__ == "__main__":
    pipeline_main(build)
