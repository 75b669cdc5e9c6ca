"""Topic discovery by clustering, as Cosmopedia v1 found the topics of its web seeds.

Fit once on a sample, assign at scale, like datatrove's MinHash: `ClusterFitter` (one task) embeds
the sample with all-MiniLM-L6-v2, projects it to 2-D with UMAP (cosine) and clusters the projection
with DBSCAN (or HDBSCAN), then saves a `ClusterModel`; the labelling stage (labelling.py) names and
rates each cluster with the LLM; `ClusterAssigner` (any number of tasks) gives every document the
cluster of its nearest fitted neighbour and that cluster's topic, and drops what fits no cluster or
a cluster judged not worth teaching.

Cosmopedia's values (huggingface/text-clustering): max_seq_length 512, UMAP to 2 components with
the cosine metric, DBSCAN eps 0.08 and min_samples 50 over 100k samples (145 clusters), 10 samples
of 420 characters per cluster for the label, 1-NN over the fitted embeddings for inference; about
half of 15M seeds met a neighbour in noise and fit no cluster.
"""

import io
import math
import os
import re
from collections import Counter

import orjson
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import embeddings, keys
from cosmo_blocks.errors import ConfigError

NOISE = -1
ALGORITHMS = ("dbscan", "hdbscan")
INSTALL_HINT = "pip install -e .[topics]  (or: pip install 'cosmo-blocks[topics]')"
# Cosmopedia's DBSCAN density: 50 neighbours within 0.08 for its 100k-sample fit
COSMOPEDIA_EPS, COSMOPEDIA_MIN_SAMPLES, COSMOPEDIA_SAMPLE_SIZE = 0.08, 50, 100_000
_SPACES = re.compile(r"\s+")


class ClusterModel:
    """A fitted cluster model in a folder (any fsspec path); this class alone reads and writes it.

    - `embeddings.npy`: the fitted sample's unit embeddings, one row per sample (float16 by default)
    - `clusters.npy`: the cluster of each sample row (int32, -1 = noise)
    - `clusters.jsonl`: per cluster `id`, `size`, `sample_ids` and `samples` (its label samples: the
      first `sample_chars` characters, whitespace collapsed, of documents chosen by a hash of their id)
    - `fit.json`: the fit's parameters and counts, and `fit_id`; written last, so a model folder
      without it is an unfinished fit
    - `labels.json`: written by the labelling stage: `fit_id` and {cluster id: {"topic", "educational_score"}}
    """

    FIT, EMBEDDINGS, CLUSTERS, INFO, LABELS = (
        "fit.json",
        "embeddings.npy",
        "clusters.npy",
        "clusters.jsonl",
        "labels.json",
    )

    def __init__(self, folder: DataFolderLike):
        # datatrove's DataFolderLike takes no pathlib.Path
        self.folder = get_datafolder(os.fspath(folder) if isinstance(folder, os.PathLike) else folder)

    def __repr__(self) -> str:
        return f"ClusterModel({self.folder.path!r})"

    # -- writing -------------------------------------------------------------------------------
    def save(self, vectors, clusters, info: list[dict], fit: dict) -> None:
        """Write a fit; any labels of an earlier fit in the folder are removed, as they name other clusters."""
        import numpy as np

        for name in (self.FIT, self.LABELS):
            if self.folder.exists(name):
                self.folder.rm(name)
        self._write_npy(self.EMBEDDINGS, vectors)
        self._write_npy(self.CLUSTERS, np.asarray(clusters, dtype=np.int32))
        with self.folder.open(self.INFO, "wb") as f:
            for cluster in info:
                f.write(orjson.dumps(cluster) + b"\n")
        fit = dict(fit, fit_id=xxhash.xxh64_hexdigest(np.asarray(clusters, dtype=np.int32).tobytes()))
        with self.folder.open(self.FIT, "wb") as f:
            f.write(orjson.dumps(fit, option=orjson.OPT_INDENT_2))

    def write_labels(self, labels: dict[int, dict]) -> None:
        """Write the labels of this fit's clusters: {cluster id: {"topic": str, "educational_score": int}}."""
        known = {cluster["id"] for cluster in self.cluster_info()}
        unknown = sorted(set(labels) - known)
        if unknown:
            raise ValueError(f"{self}: labels for clusters this fit does not have: {unknown[:10]}")
        record = {"fit_id": self.fit()["fit_id"], "labels": {str(c): labels[c] for c in sorted(labels)}}
        with self.folder.open(self.LABELS, "wb") as f:
            f.write(orjson.dumps(record, option=orjson.OPT_INDENT_2))

    def _write_npy(self, name: str, array) -> None:
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, array)
        with self.folder.open(name, "wb") as f:
            f.write(buffer.getvalue())

    # -- reading -------------------------------------------------------------------------------
    def is_fitted(self) -> bool:
        return self.folder.exists(self.FIT)

    def has_labels(self) -> bool:
        return self.folder.exists(self.LABELS)

    def check(self, labels: bool = True) -> None:
        """ConfigError unless the folder holds a finished fit (and, with `labels`, its labels)."""
        if not self.is_fitted():
            raise ConfigError(
                f"no fitted cluster model in {self.folder.path} (no {self.FIT}): run the ClusterFitter stage "
                "into this folder first"
            )
        if labels and not self.has_labels():
            raise ConfigError(
                f"the cluster model in {self.folder.path} has no {self.LABELS}: run the labelling stage "
                "(ClusterSamples -> ClusterLabeller -> ClusterLabelWriter) first"
            )

    def fit(self) -> dict:
        return orjson.loads(self._read(self.FIT))

    def embeddings(self):
        """The fitted embeddings as float32 (dot products with unit queries are cosine similarities)."""
        import numpy as np

        return np.ascontiguousarray(self._read_npy(self.EMBEDDINGS), dtype=np.float32)

    def clusters(self):
        return self._read_npy(self.CLUSTERS)

    def cluster_info(self) -> list[dict]:
        return [orjson.loads(line) for line in self._read(self.INFO).splitlines() if line.strip()]

    def labels(self) -> dict[int, dict]:
        record = orjson.loads(self._read(self.LABELS))
        if record.get("fit_id") != self.fit()["fit_id"]:
            raise ConfigError(
                f"the labels in {self.folder.path} were made for another fit of this folder: run the "
                "labelling stage again"
            )
        return {int(cluster): label for cluster, label in record["labels"].items()}

    def _read(self, name: str) -> bytes:
        with self.folder.open(name, "rb") as f:
            return f.read()

    def _read_npy(self, name: str):
        import numpy as np

        return np.load(io.BytesIO(self._read(name)), allow_pickle=False)


def dbscan_params(n_docs: int, eps: float | None = None, min_samples: int | None = None) -> dict:
    """DBSCAN's eps and min_samples for a sample of `n_docs`, asking by default for Cosmopedia's density:
    50 samples within 0.08 of a core point among 100k, i.e. 0.05% of the sample in a disc of radius 0.08
    of the 2-D projection (whose extent hardly depends on the sample size).

    min_samples=None scales 50 to the sample (5 at 10k, 50 at 100k), at least 5; eps=None is the radius
    at which that min_samples asks for the same density: 0.08 from 10k samples up, wider below (0.25 at
    1k, 0.42 at 360), since fewer points spread over the same area.
    """
    n = max(1, n_docs)
    if min_samples is None:
        min_samples = max(5, round(COSMOPEDIA_MIN_SAMPLES * n / COSMOPEDIA_SAMPLE_SIZE))
    if eps is None:
        cosmopedia_share = COSMOPEDIA_MIN_SAMPLES / COSMOPEDIA_SAMPLE_SIZE
        eps = round(COSMOPEDIA_EPS * math.sqrt(min_samples / n / cosmopedia_share), 4)
    return {"eps": eps, "min_samples": min_samples}


class ClusterFitter(PipelineStep):
    """Fit the cluster model on all the documents of its one task, save it, and pass the documents on
    with metadata `cluster` (-1 = noise), so the fitted sample can be written and inspected.

    Runs only with world_size 1 (the fit needs every sample at once). Documents with no text are
    dropped, counted `skipped_empty`. The counts `clusters`, `clustered` and `noise` go to the stats.

    Cosmopedia fitted 100k web pages with DBSCAN eps 0.08 and min_samples 50. That asks for a density
    (0.05% of the sample within 0.08 of a core point), not for counts: on 10k documents the same
    values leave almost everything in noise. With eps and min_samples None the fitter asks for
    Cosmopedia's density at any sample size (`dbscan_params`: 0.08 and 5 at 10k, 0.08 and 50 at 100k).
    On 10,000 windows of Debian documentation (benchmarks/clustering.py) Cosmopedia's values left 96%
    in noise (6 clusters); the defaults gave 318 clusters, 13% noise and a purity of 0.67 against the
    51 known groups (0.22 by chance); HDBSCAN (100, 10, leaf) 35 clusters, 24% noise, purity 0.52.

    Args:
        model_dir: where the ClusterModel is written (any fsspec path).
        algorithm: "dbscan" (Cosmopedia) or "hdbscan" (proposed for it: min_cluster_size 100,
            min_samples 10, cluster_selection_method "leaf").
        eps: DBSCAN radius in the 2-D projection; None: see `dbscan_params`.
        min_samples: DBSCAN's (and HDBSCAN's) core-point neighbour count; None: DBSCAN's from
            `dbscan_params`, HDBSCAN's `hdbscan_min_samples`.
        min_cluster_size: HDBSCAN's smallest cluster; None: 1% of the sample, at least 10.
        cluster_selection_method: HDBSCAN's "leaf" (many small clusters) or "eom".
        umap_neighbors, umap_min_dist, umap_components, umap_metric: the projection (Cosmopedia used
            UMAP's defaults 15 and 0.1, with 2 components and the cosine metric).
        seed: makes UMAP (and so the fit) reproducible, at the cost of running it on one thread;
            None lets it use every core, differently each time.
        n_samples, sample_chars: the label samples kept per cluster (Cosmopedia: 10 x 420 characters).
        model, batch_size, torch_threads, max_seq_length, device: the embedding model and how it runs
            (see cosmo_blocks.embeddings); the assigner embeds with the same ones, read from fit.json.
        embeddings_dtype: "float16" halves the model folder; nearest neighbours barely change.
    """

    name = "🧭 Cluster fit"
    type = "🧭 - TOPICS"

    def __init__(
        self,
        model_dir: DataFolderLike,
        algorithm: str = "dbscan",
        eps: float | None = None,
        min_samples: int | None = None,
        min_cluster_size: int | None = None,
        hdbscan_min_samples: int = 10,
        cluster_selection_method: str = "leaf",
        umap_neighbors: int = 15,
        umap_min_dist: float = 0.1,
        umap_components: int = 2,
        umap_metric: str = "cosine",
        seed: int | None = 0,
        n_samples: int = 10,
        sample_chars: int = 420,
        model: str | None = None,
        batch_size: int = 64,
        torch_threads: int | None = None,
        max_seq_length: int = embeddings.MAX_SEQ_LENGTH,
        device: str | None = "cpu",
        embeddings_dtype: str = "float16",
    ):
        super().__init__()
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
        if cluster_selection_method not in ("leaf", "eom"):
            raise ConfigError(
                f"cluster_selection_method is 'leaf' or 'eom', not {cluster_selection_method!r}"
            )
        if eps is not None and not eps > 0:
            raise ConfigError(f"eps must be positive, not {eps!r}")
        for name, value in (
            ("min_samples", min_samples),
            ("min_cluster_size", min_cluster_size),
            ("hdbscan_min_samples", hdbscan_min_samples),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer (or None), not {value!r}")
        if umap_neighbors < 2 or umap_components < 1 or n_samples < 1 or sample_chars < 1 or batch_size < 1:
            raise ConfigError(
                "umap_neighbors must be >= 2; umap_components, n_samples, sample_chars and batch_size >= 1"
            )
        if embeddings_dtype not in ("float16", "float32"):
            raise ConfigError(f"embeddings_dtype is 'float16' or 'float32', not {embeddings_dtype!r}")
        embeddings.check_installed(model, who="ClusterFitter", hint=INSTALL_HINT)
        self.model_dir = model_dir
        self.algorithm = algorithm
        self.eps = eps
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size
        self.hdbscan_min_samples = hdbscan_min_samples
        self.cluster_selection_method = cluster_selection_method
        self.umap_neighbors = umap_neighbors
        self.umap_min_dist = umap_min_dist
        self.umap_components = umap_components
        self.umap_metric = umap_metric
        self.seed = seed
        self.n_samples = n_samples
        self.sample_chars = sample_chars
        self.model = model
        self.batch_size = batch_size
        self.torch_threads = torch_threads
        self.max_seq_length = max_seq_length
        self.device = device
        self.embeddings_dtype = embeddings_dtype

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if world_size != 1:
            raise ConfigError(
                f"ClusterFitter fits one model on the whole sample: run its stage with 1 task, not {world_size} "
                "(then assign in many tasks with ClusterAssigner)"
            )
        docs = []
        for doc in data or ():
            if doc.text and doc.text.strip():
                docs.append(doc)
            else:
                self.stat_update("skipped_empty")
        needed = self.umap_neighbors + 1
        if len(docs) < needed:
            raise ConfigError(
                f"ClusterFitter got {len(docs)} documents; UMAP with umap_neighbors={self.umap_neighbors} needs "
                f"more than {self.umap_neighbors}: give the fit a larger sample"
            )
        with self.track_time(unit="fit"):
            vectors = self.embed([doc.text for doc in docs])
            projection = self.project(vectors)
            clusters, params = self.cluster(projection)
            info = cluster_info(docs, clusters, self.n_samples, self.sample_chars, self.seed)
            fit = self.fit_record(len(docs), clusters, params)
            ClusterModel(self.model_dir).save(vectors.astype(self.embeddings_dtype), clusters, info, fit)
        self.stat_update("clusters", value=fit["n_clusters"])
        logger.info(
            f"ClusterFitter: {fit['n_clusters']} clusters over {len(docs)} documents, "
            f"{fit['n_noise']} in noise ({fit['noise_share']:.0%}), saved to {ClusterModel(self.model_dir)}"
        )
        for doc, cluster in zip(docs, clusters, strict=True):
            doc.metadata[keys.CLUSTER] = int(cluster)
            self.stat_update("noise" if cluster == NOISE else "clustered")
            yield doc

    def embed(self, texts: list[str]):
        return embeddings.embed(
            texts,
            model=self.model,
            batch_size=self.batch_size,
            torch_threads=self.torch_threads,
            max_seq_length=self.max_seq_length,
            device=self.device,
            who="ClusterFitter",
            hint=INSTALL_HINT,
        )

    def project(self, vectors):
        """UMAP to `umap_components` dimensions."""
        umap = _import_topics("umap")
        mapper = umap.UMAP(
            n_components=self.umap_components,
            n_neighbors=min(self.umap_neighbors, len(vectors) - 1),
            min_dist=self.umap_min_dist,
            metric=self.umap_metric,
            random_state=self.seed,
            # a seeded UMAP runs on one thread anyway; say so instead of letting it warn
            n_jobs=1 if self.seed is not None else -1,
        )
        return mapper.fit_transform(vectors)

    def cluster(self, projection) -> tuple:
        """Cluster ids per row (-1 = noise), numbered by size (0 = largest), and the parameters used."""
        cluster = _import_topics("sklearn.cluster")
        n = len(projection)
        if self.algorithm == "dbscan":
            params = dbscan_params(n, self.eps, self.min_samples)
            labels = cluster.DBSCAN(**params).fit(projection).labels_
        else:
            params = {
                "min_cluster_size": self.min_cluster_size or max(10, n // 100),
                "min_samples": self.min_samples or self.hdbscan_min_samples,
                "cluster_selection_method": self.cluster_selection_method,
            }
            labels = cluster.HDBSCAN(**params, copy=True).fit(projection).labels_
        return renumber_by_size(labels), params

    def fit_record(self, n_docs: int, clusters, params: dict) -> dict:
        n_noise = int((clusters == NOISE).sum())
        return {
            "format": 1,
            "embedding_model": self.model or embeddings.BUNDLED_MODEL_NAME,
            "model": self.model,
            "max_seq_length": self.max_seq_length,
            "embeddings_dtype": self.embeddings_dtype,
            "umap": {
                "n_components": self.umap_components,
                "n_neighbors": self.umap_neighbors,
                "min_dist": self.umap_min_dist,
                "metric": self.umap_metric,
                "seed": self.seed,
            },
            "algorithm": self.algorithm,
            "params": params,
            "n_samples": self.n_samples,
            "sample_chars": self.sample_chars,
            "n_docs": n_docs,
            "n_clusters": int(clusters.max()) + 1 if n_docs else 0,
            "n_noise": n_noise,
            "noise_share": n_noise / n_docs if n_docs else 0.0,
        }


def renumber_by_size(labels):
    """Cluster ids 0..k-1 from the largest cluster down (ties: the one met first), noise kept at -1."""
    import numpy as np

    labels = np.asarray(labels)
    counts = Counter(int(c) for c in labels if c != NOISE)
    first = {}
    for i, c in enumerate(labels):
        first.setdefault(int(c), i)
    order = sorted(counts, key=lambda c: (-counts[c], first[c]))
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping.get(int(c), NOISE) for c in labels], dtype=np.int32)


def cluster_info(
    docs: list[Document], clusters, n_samples: int, sample_chars: int, seed: int | None
) -> list[dict]:
    """Per cluster: id, size and its label samples, chosen by a hash of the document id (and seed),
    so the same fit always shows the LLM the same documents."""
    members: dict[int, list[int]] = {}
    for i, cluster in enumerate(clusters):
        if cluster != NOISE:
            members.setdefault(int(cluster), []).append(i)
    info = []
    for cluster in sorted(members):
        rows = sorted(members[cluster], key=lambda i: (_hash(f"{seed}/{docs[i].id}"), i))
        chosen = rows[:n_samples]
        info.append(
            {
                "id": cluster,
                "size": len(members[cluster]),
                "sample_ids": [docs[i].id for i in chosen],
                "samples": [sample_text(docs[i].text, sample_chars) for i in chosen],
            }
        )
    return info


def _hash(text: str) -> int:
    return xxhash.xxh64_intdigest(text.encode("utf-8"))


def sample_text(text: str, chars: int) -> str:
    """The first `chars` characters with runs of whitespace collapsed (man pages and code are mostly
    indentation, which would spend the LLM's excerpt on nothing)."""
    return _SPACES.sub(" ", text).strip()[:chars]


class ClusterAssigner(PipelineStep):
    """Give each document the cluster of its nearest neighbours in the fitted sample, and that cluster's
    topic (metadata `cluster` and `topic`); run it in as many tasks as the data needs.

    Each document is embedded as the fit embedded the sample (model and max_seq_length from fit.json),
    `batch_size` at a time, and compared by cosine similarity with every fitted embedding (a matrix
    product: on unit vectors the nearest by cosine is the nearest by L2, what Cosmopedia's faiss
    IndexFlatL2 returned). With k > 1 the most common cluster among the k nearest wins (ties: the
    nearer one). Dropped, with counted reasons:
    - `no_cluster`: the neighbour is in noise: the document fits no cluster (about half of Cosmopedia's
      15M seeds did);
    - `unlabelled_cluster`: the cluster has no label (its label did not parse);
    - `cluster_denied`: the label contains an entry of `deny` (case-insensitive), as Cosmopedia removed
      clusters by a hand list;
    - `low_educational_value`: the cluster's rating is below `min_score`;
    - `empty`: the document has no text.
    The model folder and its labels are checked when the task starts, before any document is read.

    Args:
        model_dir: the ClusterModel folder written by ClusterFitter and labelled by the labelling stage.
        min_score: lowest educational score (1-10) kept; None keeps every labelled cluster.
        deny: words or phrases; a cluster whose topic contains one is dropped.
        k: neighbours that vote.
        batch_size: documents embedded and searched together.
        encode_batch_size, torch_threads, device: how the embedding model runs.
    """

    name = "🧭 Cluster assign"
    type = "🧭 - TOPICS"

    def __init__(
        self,
        model_dir: DataFolderLike,
        min_score: int | None = None,
        deny: tuple[str, ...] | list[str] = (),
        k: int = 1,
        batch_size: int = 256,
        encode_batch_size: int = 64,
        torch_threads: int | None = None,
        device: str | None = "cpu",
    ):
        super().__init__()
        if min_score is not None and not 1 <= min_score <= 10:
            raise ConfigError(f"min_score is an educational score from 1 to 10 (or None), not {min_score!r}")
        if isinstance(deny, str):
            raise ConfigError(f"deny is a list of topics, not one string: use deny=({deny!r},)")
        if not isinstance(k, int) or k < 1 or batch_size < 1 or encode_batch_size < 1:
            raise ConfigError("k, batch_size and encode_batch_size must be positive integers")
        self.model_dir = model_dir
        self.min_score = min_score
        self.deny = tuple(d.strip().lower() for d in deny if d and d.strip())
        self.k = k
        self.batch_size = batch_size
        self.encode_batch_size = encode_batch_size
        self.torch_threads = torch_threads
        self.device = device

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        model = ClusterModel(self.model_dir)
        model.check(labels=True)
        fit, labels = model.fit(), model.labels()
        verdicts = {cluster: self.verdict(labels.get(cluster)) for cluster in range(fit["n_clusters"])}
        fitted, fitted_clusters = model.embeddings(), model.clusters()
        batch: list[Document] = []
        for doc in data or ():
            if not doc.text or not doc.text.strip():
                self.stat_update("dropped_empty")
                continue
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._assign(batch, fit, fitted, fitted_clusters, labels, verdicts)
                batch = []
        if batch:
            yield from self._assign(batch, fit, fitted, fitted_clusters, labels, verdicts)

    def verdict(self, label: dict | None) -> str | None:
        """The drop reason for a cluster with this label, or None to keep its documents."""
        if label is None:
            return "unlabelled_cluster"
        topic = str(label.get(keys.TOPIC, "")).lower()
        if any(denied in topic for denied in self.deny):
            return "cluster_denied"
        if self.min_score is not None and label.get("educational_score", 0) < self.min_score:
            return "low_educational_value"
        return None

    def _assign(self, batch, fit, fitted, fitted_clusters, labels, verdicts) -> DocumentsPipeline:
        with self.track_time(unit="batch"):
            vectors = embeddings.embed(
                [doc.text for doc in batch],
                model=fit.get("model"),
                batch_size=self.encode_batch_size,
                torch_threads=self.torch_threads,
                max_seq_length=fit.get("max_seq_length"),
                device=self.device,
                who="ClusterAssigner",
                hint=INSTALL_HINT,
            )
            assigned = nearest_clusters(vectors, fitted, fitted_clusters, self.k)
        for doc, cluster in zip(batch, assigned, strict=True):
            cluster = int(cluster)
            doc.metadata[keys.CLUSTER] = cluster
            reason = "no_cluster" if cluster == NOISE else verdicts[cluster]
            if reason:
                self.stat_update(f"dropped_{reason}")
                continue
            doc.metadata[keys.TOPIC] = labels[cluster][keys.TOPIC]
            self.stat_update("assigned")
            yield doc


def nearest_clusters(queries, fitted, fitted_clusters, k: int = 1):
    """The cluster of each query's nearest fitted row (cosine on unit vectors), or the most common among
    its k nearest (ties go to the cluster met first, nearest first)."""
    import numpy as np

    sims = queries @ fitted.T
    if k == 1:
        return fitted_clusters[np.argmax(sims, axis=1)]
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
    nearest = np.take_along_axis(top, order, axis=1)
    return np.array([Counter(fitted_clusters[row].tolist()).most_common(1)[0][0] for row in nearest])


def _import_topics(module: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            embeddings.missing_message(module.split(".")[0], "Topic clustering", INSTALL_HINT)
        ) from error


__all__ = [
    "NOISE",
    "ClusterAssigner",
    "ClusterFitter",
    "ClusterModel",
    "dbscan_params",
    "nearest_clusters",
    "renumber_by_size",
]
