"""ClusterFitter, ClusterModel and ClusterAssigner on real Debian documentation with the real all-MiniLM-L6-v2.

One fit (one task) on two thirds of the corpus, then the rest assigned from the saved model in two tasks
(rank 0 and 1 of 2), as a SLURM array would. Documents are embedded up to 128 tokens here (the fitter's
`max_seq_length`; the assigner reads it from fit.json): enough to tell these groups apart, and four times
cheaper than Cosmopedia's 512 on CI's two cores.
"""

import random
import shutil
from collections import Counter

import numpy as np
import pytest
from datatrove.data import Document
from sklearn.metrics import adjusted_rand_score

from cosmo_blocks import embeddings, keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.topics.clustering import (
    NOISE,
    ClusterAssigner,
    ClusterFitter,
    ClusterModel,
    cluster_info,
    dbscan_params,
    nearest_clusters,
    renumber_by_size,
)
from tests.conftest import stats_of

MAX_SEQ = 128
FIT_PER_GROUP = 20
# DBSCAN for a 240-document fit: the defaults ask for Cosmopedia's density, which suits 10k documents and
# more; on this projection eps 0.35 / min_samples 4 gave 15-18 clusters over three UMAP seeds
FIT_PARAMS = {"eps": 0.35, "min_samples": 4}


def documents(records: list[dict]) -> list[Document]:
    return [Document(text=r["text"], id=r["id"], metadata={"group": r["group"]}) for r in records]


def purity(clusters: list[int], groups: list[str]) -> float:
    """Share of clustered documents in their cluster's most common group."""
    members: dict[int, Counter] = {}
    for cluster, group in zip(clusters, groups, strict=True):
        if cluster != NOISE:
            members.setdefault(cluster, Counter())[group] += 1
    return sum(c.most_common(1)[0][1] for c in members.values()) / sum(
        sum(c.values()) for c in members.values()
    )


@pytest.fixture(scope="module")
def split(debian_corpus_records):
    """The first 20 documents of each group to fit on, the others to assign."""
    seen: Counter = Counter()
    fit, held = [], []
    for record in debian_corpus_records:
        seen[record["group"]] += 1
        (fit if seen[record["group"]] <= FIT_PER_GROUP else held).append(record)
    return fit, held


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, split):
    model_dir = tmp_path_factory.mktemp("cluster-model")
    fitter = ClusterFitter(model_dir, max_seq_length=MAX_SEQ, **FIT_PARAMS)
    out = list(fitter.run(iter(documents(split[0]))))
    return model_dir, out, stats_of(fitter)


def test_fit_saves_the_model_and_its_clusters_follow_the_groups(fitted, split):
    model_dir, out, stats = fitted
    fit_records = split[0]
    assert [d.id for d in out] == [r["id"] for r in fit_records]  # every document passes, in order
    clusters = [d.metadata[keys.CLUSTER] for d in out]
    groups = [d.metadata["group"] for d in out]

    model = ClusterModel(model_dir)
    fit = model.fit()
    assert fit["n_docs"] == len(fit_records) and fit["algorithm"] == "dbscan"
    assert fit["params"] == FIT_PARAMS
    assert fit["max_seq_length"] == MAX_SEQ and fit["umap"]["metric"] == "cosine"
    assert fit["n_clusters"] >= 4 and fit["n_noise"] == clusters.count(NOISE) < len(clusters) / 4
    assert stats["clustered"] + stats.get("noise", 0) == len(fit_records)
    assert stats["clusters"] == fit["n_clusters"] == max(clusters) + 1
    assert list(model.clusters()) == clusters
    vectors = model.embeddings()
    assert vectors.dtype == np.float32 and vectors.shape == (len(fit_records), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-2)  # unit vectors, stored as float16

    # the clusters agree with the known groups far beyond chance
    assert adjusted_rand_score(groups, clusters) > 0.15
    shuffled = groups[:]
    random.Random(0).shuffle(shuffled)
    assert purity(clusters, groups) > purity(clusters, shuffled) + 0.15

    # the label samples: up to 10 members per cluster, 420 characters each, chosen the same way again
    info = model.cluster_info()
    assert [c["id"] for c in info] == list(range(fit["n_clusters"]))
    sizes = Counter(clusters)
    for cluster in info:
        assert cluster["size"] == sizes[cluster["id"]]
        assert len(cluster["samples"]) == min(10, cluster["size"]) == len(cluster["sample_ids"])
        assert all(0 < len(s) <= 420 for s in cluster["samples"])
        members = {d.id for d in out if d.metadata[keys.CLUSTER] == cluster["id"]}
        assert set(cluster["sample_ids"]) <= members
    assert cluster_info(out, np.array(clusters), 10, 420, 0) == info
    assert sorted(sizes[c] for c in range(fit["n_clusters"]))[::-1] == [c["size"] for c in info]  # by size


def test_hdbscan_on_the_same_embeddings(fitted, split):
    model_dir, out, _ = fitted
    fitter = ClusterFitter(model_dir, algorithm="hdbscan", max_seq_length=MAX_SEQ)
    labels, params = fitter.cluster(fitter.project(ClusterModel(model_dir).embeddings()))
    assert params == {"min_cluster_size": 10, "min_samples": 10, "cluster_selection_method": "leaf"}
    assert len(set(labels) - {NOISE}) >= 4
    assert adjusted_rand_score([d.metadata["group"] for d in out], labels) > 0.1


def test_assign_in_two_tasks_from_the_saved_model(fitted, split, tmp_path):
    model_dir, out, _ = fitted
    model_copy = tmp_path / "model"
    shutil.copytree(model_dir, model_copy)
    model = ClusterModel(model_copy)
    fit_clusters = [d.metadata[keys.CLUSTER] for d in out]
    majority = {
        c: Counter(d.metadata["group"] for d in out if d.metadata[keys.CLUSTER] == c).most_common(1)[0][0]
        for c in range(model.fit()["n_clusters"])
    }
    # labels as the LLM would give them; the three largest clusters get a low score, a denied topic, none
    low, denied, unlabelled = 0, 1, 2
    labels = {
        c: {"topic": f"{majority[c]} pages", "educational_score": 7} for c in majority if c != unlabelled
    }
    labels[low]["educational_score"] = 2
    labels[denied]["topic"] = "Shopping and COUPONS"
    model.write_labels(labels)

    held = documents(split[1])
    # a copy of a fitted document that fell in noise: its nearest neighbour is itself, so it fits no cluster
    noise_doc = next(d for d in out if d.metadata[keys.CLUSTER] == NOISE)
    held.append(Document(text=noise_doc.text, id="noise-copy", metadata={"group": "noise"}))
    halves = [held[0::2], held[1::2]]
    yielded, stats = [], Counter()
    for rank in (0, 1):
        assigner = ClusterAssigner(model_copy, min_score=5, deny=("coupons",), batch_size=16)
        yielded += list(assigner.run(iter(halves[rank]), rank=rank, world_size=2))
        stats.update(stats_of(assigner))

    # every document got its nearest neighbour's cluster (set before any drop), and is kept or counted
    assigned = {d.id: d.metadata[keys.CLUSTER] for d in held}
    expected = Counter()
    for cluster in assigned.values():
        reason = {NOISE: "no_cluster", low: "low_educational_value", denied: "cluster_denied"}.get(cluster)
        reason = reason or ("unlabelled_cluster" if cluster == unlabelled else "assigned")
        expected["assigned" if reason == "assigned" else f"dropped_{reason}"] += 1
    assert {k: stats[k] for k in expected} == dict(expected)
    assert all(expected[k] > 0 for k in ("dropped_low_educational_value", "dropped_cluster_denied"))
    assert expected["dropped_no_cluster"] >= 1 and assigned["noise-copy"] == NOISE
    assert stats["assigned"] == len(yielded) > len(held) / 4
    for doc in yielded:
        assert doc.metadata[keys.TOPIC] == labels[doc.metadata[keys.CLUSTER]]["topic"]

    # the assigned cluster is the 1-NN's, checked here with numpy on a few documents
    sample = held[:8]
    queries = embeddings.embed([d.text for d in sample], max_seq_length=MAX_SEQ)
    sims = queries @ model.embeddings().T
    assert [assigned[d.id] for d in sample] == [fit_clusters[i] for i in sims.argmax(axis=1)]

    # held-out documents land in clusters of their own group far more often than by chance
    real = [d for d in held if d.id != "noise-copy" and assigned[d.id] != NOISE]
    hits = sum(majority[assigned[d.id]] == d.metadata["group"] for d in real) / len(real)
    chance = max(Counter(majority.values()).values()) / len(majority)
    assert hits > max(0.4, chance + 0.2)


def test_fitter_runs_in_one_task_only_and_needs_enough_documents(tmp_path, debian_corpus_records):
    docs = iter(documents(debian_corpus_records[:20]))
    with pytest.raises(ConfigError, match="1 task"):
        next(ClusterFitter(tmp_path / "m").run(docs, rank=0, world_size=2))
    assert len(list(docs)) == 20  # nothing was read
    with pytest.raises(ConfigError, match="got 10 documents"):
        list(ClusterFitter(tmp_path / "m").run(iter(documents(debian_corpus_records[:10]))))
    assert not ClusterModel(tmp_path / "m").is_fitted()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithm": "kmeans"},
        {"eps": 0},
        {"min_samples": 0},
        {"min_cluster_size": 2.5},
        {"cluster_selection_method": "best"},
        {"umap_neighbors": 1},
        {"embeddings_dtype": "int8"},
    ],
)
def test_bad_fitter_configuration(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        ClusterFitter(tmp_path, **kwargs)


@pytest.mark.parametrize("kwargs", [{"min_score": 11}, {"deny": "ads"}, {"k": 0}, {"batch_size": 0}])
def test_bad_assigner_configuration(tmp_path, kwargs):
    with pytest.raises(ConfigError):
        ClusterAssigner(tmp_path, **kwargs)


def small_model(folder, clusters) -> ClusterModel:
    """A model folder written through ClusterModel from hand-made unit vectors (no embedding, no UMAP)."""
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(clusters), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    docs = [Document(text=f"document {i}", id=f"d{i}") for i in range(len(clusters))]
    model = ClusterModel(folder)
    clusters = np.array(clusters)
    fit = {"n_clusters": int(clusters.max()) + 1, "max_seq_length": MAX_SEQ, "model": None}
    model.save(vectors.astype(np.float16), clusters, cluster_info(docs, clusters, 10, 420, 0), fit)
    return model


def test_assigner_fails_before_reading_without_a_model_or_labels(tmp_path):
    docs = iter([Document(text="some text", id="a")])
    with pytest.raises(ConfigError, match="no fitted cluster model"):
        next(ClusterAssigner(tmp_path / "nothing").run(docs))
    model = small_model(tmp_path / "m", [0, 0, 1, 1, -1])
    with pytest.raises(ConfigError, match="has no labels.json"):
        next(ClusterAssigner(tmp_path / "m").run(docs))
    assert [d.id for d in docs] == ["a"]  # nothing was read

    model.write_labels({0: {"topic": "a", "educational_score": 5}})
    stale = (tmp_path / "m" / "labels.json").read_bytes()
    small_model(tmp_path / "m", [0, 1, 1, 1, -1])  # a refit removes the labels of the old clusters
    assert not model.has_labels()
    (tmp_path / "m" / "labels.json").write_bytes(stale)
    with pytest.raises(ConfigError, match="another fit"):
        next(ClusterAssigner(tmp_path / "m").run(iter([])))
    with pytest.raises(ValueError, match="clusters this fit does not have"):
        model.write_labels({7: {"topic": "x", "educational_score": 1}})


def test_model_round_trip_nearest_clusters_and_numbering(tmp_path):
    model = small_model(tmp_path, [1, 1, 0, -1])
    assert model.clusters().tolist() == [1, 1, 0, -1] and model.embeddings().dtype == np.float32
    assert [(c["id"], c["size"]) for c in model.cluster_info()] == [(0, 1), (1, 2)]

    fitted = np.eye(4, dtype=np.float32)
    fitted_clusters = np.array([5, 5, 6, -1])
    query = np.array([[0.1, 0.2, 0.9, 0.0], [0.6, 0.0, 0.7, 0.5], [0.1, 0.0, 0.2, 1.0]], dtype=np.float32)
    assert nearest_clusters(query, fitted, fitted_clusters).tolist() == [6, 6, -1]
    # k=3: cluster 5 holds two of the three nearest for the first query, 6 is nearest for the second
    assert nearest_clusters(query, fitted, fitted_clusters, k=3).tolist() == [5, 6, -1]
    assert renumber_by_size([3, 3, -1, 7, 7, 7, 2]).tolist() == [1, 1, -1, 0, 0, 0, 2]
    assert dbscan_params(100_000) == {"eps": 0.08, "min_samples": 50}
    assert dbscan_params(10_000) == {"eps": 0.08, "min_samples": 5}
    assert dbscan_params(1_000)["eps"] == pytest.approx(0.253, abs=1e-3)
