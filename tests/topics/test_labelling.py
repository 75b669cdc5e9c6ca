"""The labelling stage: cluster samples out of a model folder, the LLM's topic and rating, labels.json back in.

The model folders here are written through ClusterModel with the corpus's known groups as the clusters
(as a perfect fit would find them): the stage reads only the clusters' samples, and test_clustering.py
covers the fit itself.
"""

from collections import Counter

import numpy as np
import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.topics.clustering import ClusterAssigner, ClusterModel, cluster_info
from cosmo_blocks.topics.labelling import (
    EDUCATIONAL_SCORE,
    LABEL_SCHEMA,
    SAMPLE_COUNT,
    ClusterLabeller,
    ClusterLabelWriter,
    ClusterSamples,
)
from tests.conftest import ENGINE_KWARGS, stats_of


def group_model(folder, records: list[dict]) -> ClusterModel:
    """A model folder whose clusters are the records' groups (ids by first appearance), unit vectors
    standing in for the embeddings."""
    ids = {}
    clusters = np.array([ids.setdefault(r["group"], len(ids)) for r in records])
    docs = [Document(text=r["text"], id=r["id"]) for r in records]
    vectors = np.eye(len(records), 8, dtype=np.float16)
    model = ClusterModel(folder)
    fit = {"n_clusters": len(ids), "model": None, "max_seq_length": 128}
    model.save(vectors, clusters, cluster_info(docs, clusters, 10, 420, 0), fit)
    return model


@pytest.fixture
def model(tmp_path, debian_corpus_records):
    return group_model(tmp_path / "model", debian_corpus_records)


def test_samples_one_document_per_cluster(model, debian_corpus_records):
    samples = ClusterSamples(model.folder.path)
    out = list(samples.run())
    groups = Counter(r["group"] for r in debian_corpus_records)
    assert [d.metadata[keys.CLUSTER] for d in out] == list(range(len(groups)))
    assert [d.id for d in out] == [f"cluster-{i}" for i in range(len(groups))]
    for doc, info in zip(out, model.cluster_info(), strict=True):
        assert doc.metadata[SAMPLE_COUNT] == 10 and doc.text.count("\n\nExample ") == 9
        assert doc.text.startswith("Example 1:\n" + info["samples"][0])
        assert all(sample in doc.text for sample in info["samples"])
    assert stats_of(samples)["clusters"] == len(groups)
    prompt = ClusterLabeller(VLLMGenerator(model="tiny")).prompt(out[0])
    assert (
        "Here are 10 extracts" in prompt
        and model.cluster_info()[0]["samples"][0] in prompt
        and '"educational_score"' in prompt
    )


def test_writer_saves_labels_through_the_model(model):
    docs = list(ClusterSamples(model.folder.path).run())
    docs[0].metadata.update({keys.TOPIC: "Linux system calls", EDUCATIONAL_SCORE: 8})
    docs[1].metadata.update({keys.TOPIC: "Python text processing", EDUCATIONAL_SCORE: 9})
    writer = ClusterLabelWriter(model.folder.path)
    assert [d.id for d in writer.run(iter(docs))] == [d.id for d in docs]  # passed on for reading
    assert model.labels() == {
        0: {"topic": "Linux system calls", "educational_score": 8},
        1: {"topic": "Python text processing", "educational_score": 9},
    }
    stats = stats_of(writer)
    assert stats["labelled"] == 2 and stats["skipped_no_label"] == stats["unlabelled"] == len(docs) - 2


def test_single_task_and_a_fitted_model_are_required(tmp_path, model):
    with pytest.raises(ConfigError, match="1 task"):
        next(ClusterSamples(model.folder.path).run(None, 0, 2))
    with pytest.raises(ConfigError, match="1 task"):
        next(ClusterLabelWriter(model.folder.path).run(iter([]), 1, 2))
    with pytest.raises(ConfigError, match="no fitted cluster model"):
        next(ClusterSamples(tmp_path / "empty").run())
    with pytest.raises(ConfigError, match=r"\{n\} and \{examples\}"):
        ClusterLabeller(VLLMGenerator(model="tiny"), prompt_template="{examples} {cluster}")
    assert LABEL_SCHEMA["required"] == ["topic", "educational_score"]


def test_every_cluster_gets_a_parsed_label_from_smollm2(tmp_path, model):
    """The real SmolLM2-135M on CPU, with structured outputs: each of the 12 clusters gets a topic and a
    1-10 score, and the assigner can use the labels."""
    generator = VLLMGenerator(
        model="smollm2-135m",
        sampling={"preset": "small", "max_tokens": 48},
        engine_kwargs=ENGINE_KWARGS,
        journal_dir=tmp_path / "journal",
        seed=0,
    )
    samples, labeller, writer = (
        ClusterSamples(model.folder.path),
        ClusterLabeller(generator),
        ClusterLabelWriter(model.folder.path),
    )
    out = list(writer.run(labeller.run(samples.run())))

    n_clusters = model.fit()["n_clusters"]
    assert sorted(d.metadata[keys.CLUSTER] for d in out) == list(range(n_clusters))
    labels = model.labels()
    assert sorted(labels) == list(range(n_clusters))
    for label in labels.values():
        assert label["topic"].strip() and len(label["topic"]) <= 80
        assert 1 <= label["educational_score"] <= 10
    stats = stats_of(labeller)
    assert stats["asked"] == stats["answered"] == n_clusters
    assert stats_of(writer)["labelled"] == n_clusters and stats_of(writer)["unlabelled"] == 0
    # the assigner's labels check passes: it starts and assigns nothing for no input
    assert list(ClusterAssigner(model.folder.path).run(iter([]))) == []
