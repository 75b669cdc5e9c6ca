"""Near-duplicate removal with datatrove's MinHash, as four stages any pipeline appends.

    stages = minhash_stages(ParquetReader(f"{out}/generated"), f"{out}/dedup",
                            then=[decontamination, CosmopediaParquetWriter(f"{out}/data")],
                            removed_writer=CosmopediaJsonlWriter(f"{out}/dedup/removed", rejects=True))

- signatures (`tasks`): the reader's documents, one signature file per task and bucket
  (`{work_dir}/signatures`);
- buckets (one task per bucket): pairs of documents that share a bucket's hashes (`{work_dir}/buckets`);
- clusters (1 task): the pairs joined into clusters; every member but one is marked for removal, and
  each member's cluster size is saved (`{work_dir}/clusters`);
- dedup (`tasks`, the same as signatures): the reader again, datatrove's filter dropping the marked
  documents, then the caller's steps (`then`: decontamination, the dataset writer) in the same pass.

The filter finds a document by its position in its task's input, so both passes must read the same
documents in the same order on the same ranks: the stages share one reader object and one task
count, and a reader that shuffles its files is refused.

The config is Cosmopedia's, datatrove's default shape: word 5-grams, 14 buckets x 8 hashes (a pair is
caught with probability 1-(1-s^8)^14: 92% at 5-gram Jaccard similarity s = 0.8, 50% at 0.69, 5% at
0.5), 64-bit hashes.
The shingles are hashed with SHA1, datatrove's original hash: its newer default, xxhash, fails on
text with xxhash >= 4 (which accepts bytes only). The words of a shingle are those of the text as
datatrove's `simplify_text` leaves it (lowercase, no punctuation, numbers as 0), split on spaces:
that needs no spaCy and makes signatures ~7-10x faster than datatrove's spaCy tokenizer for "en",
whose words differ only in details ("cannot" is two words); `language="en"` picks spaCy's (install
spacy), another code that language's tokenizer. Splitting on spaces suits languages written with
spaces between words (Korean too), not Chinese, Japanese or Thai: give their code.

Stats of the dedup stage (`{logging_dir}/dedup/stats.json`), on the step "🎯 MinHash filter":
- `total`, `forwarded`, `dropped` (datatrove's): documents read, kept, removed as duplicates;
- `dropped_duplicate`: the same removals under the reason name the run summary lists;
- `removed_cluster_size_2`, `removed_cluster_size_3-5`, `removed_cluster_size_6-10`,
  `removed_cluster_size_11+`: removed documents by the size of their cluster (a cluster of n
  documents keeps one and removes n-1).
The duplicate rate is `dropped / total`. `dedup_summary(f"{logging_dir}/dedup")` reads all of it from
the per-task stats (after a resumed run, stats.json holds only the tasks that ran again). Removed
documents go to `removed_writer` with `filter_reason` "duplicate" and datatrove's `minhash_cluster_size`.
"""

from pathlib import Path

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.dedup.minhash import (
    MinhashConfig,
    MinhashDedupBuckets,
    MinhashDedupCluster,
    MinhashDedupFilter,
    MinhashDedupSignature,
)
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.hashing import HashConfig, create_hash_func
from datatrove.utils.word_tokenizers import WordTokenizer

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run.stages import Stage
from cosmo_blocks.run.summary import load_stats

REASON = "duplicate"
# datatrove's filter sets it on every document when it loads the cluster sizes
CLUSTER_SIZE = "minhash_cluster_size"
# (smallest size, largest size or None, stat suffix)
CLUSTER_SIZE_BINS = ((2, 2, "2"), (3, 5, "3-5"), (6, 10, "6-10"), (11, None, "11+"))
FILTER_NAME = "🎯 MinHash filter"


def default_config() -> MinhashConfig:
    """Cosmopedia's MinHash: 5-grams, 14 buckets x 8 hashes, 64-bit SHA1 hashes."""
    return MinhashConfig(
        n_grams=5, num_buckets=14, hashes_per_bucket=8, hash_config=HashConfig(precision=64, hash_fc="sha1")
    )


def cluster_size_stat(size: int) -> str:
    """The stat counting a removed document of a cluster of `size` documents."""
    for low, high, suffix in CLUSTER_SIZE_BINS:
        if size >= low and (high is None or size <= high):
            return f"removed_cluster_size_{suffix}"
    return "removed_cluster_size_unknown"  # a removed document is in a cluster of at least 2


class SimplifiedWords(WordTokenizer):
    """The words of text that `simplify_text` already lowercased and cleared of punctuation."""

    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]  # MinHash asks for words only

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


class MinhashClusterFilter(MinhashDedupFilter):
    """datatrove's MinHash filter, counting its removals by cluster size and naming their reason.

    datatrove's filter loads each document's cluster size, then either forwards the document or
    hands it to the exclusion writer before asking for the next one; so a document handed in and
    not forwarded by the time the next is asked for (or the input ends) was removed.
    """

    name = FILTER_NAME

    def __init__(self, input_folder, exclusion_writer: DiskWriter | None = None):
        super().__init__(input_folder, exclusion_writer=exclusion_writer, load_cluster_sizes=True)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        pending = None  # the document datatrove's filter is deciding on, and whether we set its reason

        def handed(docs):
            nonlocal pending
            for doc in docs:
                if pending is not None:
                    self._removed(pending[0])
                pending = (doc, keys.FILTER_REASON not in doc.metadata)
                if pending[1]:
                    doc.metadata[keys.FILTER_REASON] = REASON  # for the exclusion writer
                yield doc
            if pending is not None:
                self._removed(pending[0])
                pending = None

        for doc in super().run(handed(data), rank, world_size):
            if pending is not None and pending[1]:
                doc.metadata.pop(keys.FILTER_REASON, None)
            pending = None
            doc.metadata.pop(CLUSTER_SIZE, None)  # the dataset keeps its own columns
            yield doc

    def _removed(self, doc) -> None:
        self.stat_update(f"dropped_{REASON}")
        self.stat_update(cluster_size_stat(doc.metadata.get(CLUSTER_SIZE, 0)))


def _check(reader, tasks, config: MinhashConfig, then) -> None:
    if not callable(reader):
        raise ConfigError(f"minhash_stages needs a datatrove reader step, got {type(reader).__name__}")
    if getattr(reader, "shuffle_files", False):
        raise ConfigError(
            "minhash_stages: the reader shuffles its files (shuffle_files=True), so the dedup pass would "
            "not see the documents in the order their signatures were made: set shuffle_files=False"
        )
    if tasks is not None and (not isinstance(tasks, int) or tasks < 1):
        raise ConfigError(f"minhash_stages: tasks must be a positive integer or None, got {tasks!r}")
    if not isinstance(then, list | tuple):
        raise ConfigError(f"minhash_stages: `then` must be a list of steps, got {type(then).__name__}")
    try:
        create_hash_func(config.hash_config)("a b c d e")
    except TypeError as error:
        raise ConfigError(
            f"minhash_stages: {config.hash_config} cannot hash text here ({error}); use "
            "HashConfig(precision=64, hash_fc='sha1') (the default config) or install xxhash<4"
        ) from error


def minhash_stages(
    reader,
    work_dir: str,
    then: list,
    tasks: int | None = None,
    config: MinhashConfig | None = None,
    removed_writer: DiskWriter | None = None,
    language: str | None = None,
) -> list[Stage]:
    """The four MinHash stages over `reader`'s documents: signatures, buckets, clusters, dedup.

    `work_dir` holds the working files; `then` runs after the filter in the dedup stage (e.g. a
    decontamination filter and the dataset writer); `tasks` is the task count of the signatures and
    dedup stages (None: the run's --tasks, the same for both); `config` defaults to Cosmopedia's
    (`default_config()`); `language` None splits the simplified text on spaces, a language code
    uses datatrove's word tokenizer for it (spaCy for "en").
    """
    config = config or default_config()
    _check(reader, tasks, config, then)
    work_dir = work_dir.rstrip("/")
    signatures, buckets, clusters = f"{work_dir}/signatures", f"{work_dir}/buckets", f"{work_dir}/clusters"
    try:
        signer = MinhashDedupSignature(signatures, config=config, language=language or SimplifiedWords())
    except (ImportError, ValueError) as error:
        raise ConfigError(f"minhash_stages: no word tokenizer for language={language!r}: {error}") from error
    return [
        Stage("signatures", [reader, signer], tasks),
        # datatrove's bucket step needs a task count that is a multiple of the bucket count; one task
        # per bucket merges that bucket's signature files, sorted, in one pass with little memory
        Stage("buckets", [MinhashDedupBuckets(signatures, buckets, config=config)], tasks=config.num_buckets),
        Stage(
            "clusters",
            [MinhashDedupCluster(buckets, clusters, config=config, save_cluster_size=True)],
            tasks=1,
        ),
        Stage(
            "dedup", [reader, MinhashClusterFilter(clusters, exclusion_writer=removed_writer), *then], tasks
        ),
    ]


def dedup_summary(stage_folder: str | Path) -> dict:
    """The dedup stage's counts, from the stats of every task in its logging folder (local):
    {"documents", "removed", "kept", "duplicate_rate", "removed_by_cluster_size": {"2": n, "3-5": n, ...}}.

    Reads the per-task stats files, not stats.json, which datatrove rewrites with only the tasks a
    resumed run ran again.
    """
    folder = Path(stage_folder)
    ranks = [int(path.stem) for path in (folder / "stats").glob("*.json") if path.stem.isdigit()]
    steps = load_stats(folder, ranks=ranks)
    stats = next((step.get("stats", {}) for step in steps if step.get("name", "").endswith(FILTER_NAME)), {})

    def count(name: str) -> int:
        value = stats.get(name, 0)
        return int(value.get("total", 0) if isinstance(value, dict) else value)

    documents, removed = count("total"), count("dropped")
    return {
        "documents": documents,
        "removed": removed,
        "kept": count("forwarded"),
        "duplicate_rate": removed / documents if documents else 0.0,
        "removed_by_cluster_size": {
            suffix: count(f"removed_cluster_size_{suffix}") for _, _, suffix in CLUSTER_SIZE_BINS
        },
    }
