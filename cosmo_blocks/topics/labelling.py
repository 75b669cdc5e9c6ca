"""Name and rate each fitted cluster with the LLM, as Cosmopedia v1 did: a topic and an educational value.

The stage is three steps, run as one task between the fit and the assignment:

    ClusterSamples(model_dir)             one document per cluster: its label samples
    ClusterLabeller(generator)            the LLM's answer, forced into {"topic", "educational_score"}
    ClusterLabelWriter(model_dir)         labels.json in the model folder, read by ClusterAssigner

Cosmopedia showed Mixtral 10 samples of 420 characters per cluster and parsed "Topic: ...,
Educational value rating: N" out of free text; here the answer is JSON constrained by vLLM's
structured outputs, so even a 135M model answers in shape. A cluster whose answer does not parse
gets no label, and ClusterAssigner drops its documents as `unlabelled_cluster`.
"""

from collections.abc import Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.structured import StructuredAnnotator
from cosmo_blocks.topics.clustering import ClusterModel

EDUCATIONAL_SCORE = "educational_score"
# a cluster document's metadata beside `cluster`: the cluster's size and how many samples it shows
CLUSTER_SIZE = "cluster_size"
SAMPLE_COUNT = "sample_count"
LABEL_SCHEMA = {
    "type": "object",
    "properties": {
        keys.TOPIC: {"type": "string", "minLength": 1, "maxLength": 80},
        EDUCATIONAL_SCORE: {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": [keys.TOPIC, EDUCATIONAL_SCORE],
    "additionalProperties": False,
}
# No example topics: SmolLM2 copied them into its answers for clusters they did not fit
PROMPT = """Here are {n} extracts from documents that belong to one cluster of similar documents.

{examples}

Name the topic these extracts share in a few words, and rate the educational value of the cluster \
from 1 (no educational value: ads, spam, gossip, navigation) to 10 (excellent material for a \
textbook or a class). Answer in JSON: {{"topic": "<the topic>", "educational_score": <1 to 10>}}"""


def _single_task(step: PipelineStep, world_size: int) -> None:
    if world_size != 1:
        raise ConfigError(
            f"{type(step).__name__} works on a whole cluster model: run the labelling stage with 1 task, "
            f"not {world_size}"
        )


class ClusterSamples(PipelineStep):
    """Read a fitted ClusterModel and yield one document per cluster: id `cluster-<id>`, text its label
    samples ("Example 1:\\n..." blocks, as fitted: 10 x 420 characters by default), metadata `cluster`
    `cluster_size` and `sample_count`. A reader: it ignores its input, and runs as one task."""

    name = "🧭 Cluster samples"
    type = "📖 - READER"

    def __init__(self, model_dir: DataFolderLike):
        super().__init__()
        self.model_dir = model_dir

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _single_task(self, world_size)
        model = ClusterModel(self.model_dir)
        model.check(labels=False)
        if data:
            yield from data
        for cluster in model.cluster_info():
            self.stat_update("clusters")
            yield Document(
                text=samples_text(cluster["samples"]),
                id=f"cluster-{cluster['id']}",
                metadata={
                    keys.CLUSTER: cluster["id"],
                    CLUSTER_SIZE: cluster["size"],
                    SAMPLE_COUNT: len(cluster["samples"]),
                },
            )


def samples_text(samples: list[str]) -> str:
    return "\n\n".join(f"Example {i}:\n{sample}" for i, sample in enumerate(samples, 1))


class ClusterLabeller(StructuredAnnotator):
    """Ask the LLM for a cluster's topic and educational score (1-10) from its samples, the answer
    forced into `LABEL_SCHEMA`; sets metadata `topic` and `educational_score`.

    Args:
        generator: the generation block that answers (e.g. VLLMGenerator(model=..., journal_dir=...)).
        prompt_template: the question, with `{n}` (number of samples) and `{examples}` (the samples).
        structured: False asks without the constraint (for measuring what the constraint buys).
    """

    name = "🏷️ Cluster labeller"
    schema = LABEL_SCHEMA

    def __init__(self, generator, prompt_template: str = PROMPT, structured: bool = True):
        super().__init__(generator, structured=structured)
        try:
            prompt_template.format(n=10, examples="")
        except (KeyError, IndexError, ValueError) as error:
            raise ConfigError(
                f"prompt_template takes the fields {{n}} and {{examples}} only (double other braces): {error!r}"
            ) from None
        self.prompt_template = prompt_template

    def prompt(self, doc: Document) -> str:
        return self.prompt_template.format(n=doc.metadata.get(SAMPLE_COUNT, "several"), examples=doc.text)

    def apply(self, doc: Document, answer: dict) -> Iterable[Document]:
        doc.metadata[keys.TOPIC] = " ".join(answer[keys.TOPIC].split())
        doc.metadata[EDUCATIONAL_SCORE] = int(answer[EDUCATIONAL_SCORE])
        yield doc


class ClusterLabelWriter(PipelineStep):
    """Collect the labelled cluster documents and write their labels into the model folder
    (`labels.json`, through ClusterModel), replacing any earlier labels of the fit. Clusters without
    an answer stay unlabelled (counted `unlabelled`); ClusterAssigner drops their documents. Passes
    the documents on, so they can be written for reading."""

    name = "🏷️ Cluster labels"
    type = "🧭 - TOPICS"

    def __init__(self, model_dir: DataFolderLike):
        super().__init__()
        self.model_dir = model_dir

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        _single_task(self, world_size)
        model = ClusterModel(self.model_dir)
        model.check(labels=False)
        labels: dict[int, dict] = {}
        for doc in data or ():
            cluster, topic = doc.metadata.get(keys.CLUSTER), doc.metadata.get(keys.TOPIC)
            score = doc.metadata.get(EDUCATIONAL_SCORE)
            if not isinstance(cluster, int) or not isinstance(topic, str) or not isinstance(score, int):
                self.stat_update("skipped_no_label")
                yield doc
                continue
            labels[cluster] = {keys.TOPIC: topic, EDUCATIONAL_SCORE: score}
            self.stat_update("labelled")
            yield doc
        n_clusters = model.fit()["n_clusters"]
        self.stat_update("unlabelled", value=n_clusters - len(labels))
        model.write_labels(labels)
        logger.info(f"ClusterLabelWriter: {len(labels)} of {n_clusters} clusters labelled in {model}")
