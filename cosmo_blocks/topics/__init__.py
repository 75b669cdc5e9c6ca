"""Topic discovery: what to write about, before any prompt is built.

v1 clusters web samples and names each cluster with the LLM; v2 grows a taxonomy of subtopics and
retrieves seed pages for each from a full-text index; enrichment adds related concepts, difficulty
and prerequisites to a topic. The heavy parts (embeddings, UMAP, scikit-learn, textstat, YAKE) are in
the `topics` extra and imported where used.
"""

from cosmo_blocks.topics.clustering import ClusterAssigner, ClusterFitter, ClusterModel
from cosmo_blocks.topics.enrichment import HeuristicEnricher, TopicEnricher
from cosmo_blocks.topics.labelling import ClusterLabeller, ClusterLabelWriter, ClusterSamples
from cosmo_blocks.topics.outlines import CourseOutliner
from cosmo_blocks.topics.retrieval import FtsIndexer, FtsRetriever
from cosmo_blocks.topics.taxonomy import SubtopicExpander, TaxonomyReader

__all__ = [
    "ClusterAssigner",
    "ClusterFitter",
    "ClusterLabelWriter",
    "ClusterLabeller",
    "ClusterModel",
    "ClusterSamples",
    "CourseOutliner",
    "FtsIndexer",
    "FtsRetriever",
    "HeuristicEnricher",
    "SubtopicExpander",
    "TaxonomyReader",
    "TopicEnricher",
]
