"""Benchmark decontamination: drop documents that contain a benchmark item.

Cosmopedia's method (its `decontamination/decontaminate.py`): words are normalised (NFD, diacritics
removed, lowercase, `\\w+`); a document sharing a 10-gram with a benchmark text is a candidate; the
pair is then diffed with `difflib.SequenceMatcher(autojunk=False)` on the normalised strings, matching
blocks longer than 5 characters are summed, and the document is contaminated when that length over the
benchmark text's length exceeds 0.5.

The benchmark items come from files the user gives (jsonl or parquet, any fsspec path), with the fields
that make an item's text named per file. An item with answer choices is indexed once per choice
(prompt + that choice), so a document that quotes the question with only its answer is caught as well
as one that quotes every option.

`method="ngrams"` runs datatrove's n-gram decontamination instead (`NGramsDecontFilter`: any shared
n-gram drops the document) over the same files; see `BenchmarkDecontaminator`.
"""

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

import numpy as np
import orjson
import xxhash
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger
from datatrove.utils.typeshelper import Languages

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

# datatrove's NGramsDecontFilter writes these two on the documents it drops.
CONTAMINATED_NGRAM = "contaminated_ngram"
CONTAMINATED_TASK = "contaminated_task"

METHODS = ("difflib", "ngrams")
# how far around its shared n-grams a document is diffed against a benchmark text, in text lengths
WINDOW_LENGTHS = 10


@dataclass(frozen=True)
class BenchmarkFile:
    """One benchmark's items: a jsonl (optionally compressed) or parquet file, any fsspec path.

    `fields` are joined (in order, one line each) into the item's prompt text; `choices` name the
    answer options (a field holding a list, or several fields, one option each), and each option is
    indexed as prompt + option. A dotted name reaches into nested records (`choices.text`), mapping
    over lists. `id_field` names the item id (default: `id` when present, else the line number).
    """

    path: str
    fields: tuple[str, ...] = ("question",)
    choices: tuple[str, ...] = ()
    id_field: str | None = None

    def __post_init__(self):
        # accept lists and single strings from callers and --param parsing
        for name in ("fields", "choices"):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if not self.fields:
            raise ConfigError(f"BenchmarkFile({self.path!r}): name at least one text field in `fields`")


# The fields of the eight benchmarks Cosmopedia decontaminated against, in their Hugging Face dataset
# shapes (cais/mmlu, Rowan/hellaswag, ybisk/piqa, allenai/social_i_qa, allenai/winogrande,
# allenai/openbookqa, allenai/ai2_arc, google/boolq): prompt fields, then answer-choice fields.
KNOWN_BENCHMARKS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "mmlu": (("question",), ("choices",)),
    "hellaswag": (("ctx",), ("endings",)),
    "piqa": (("goal",), ("sol1", "sol2")),
    "siqa": (("context", "question"), ("answerA", "answerB", "answerC")),
    "winogrande": (("sentence",), ("option1", "option2")),
    "openbookqa": (("question_stem",), ("choices.text",)),
    "arc": (("question",), ("choices.text",)),
    "boolq": (("passage", "question"), ()),
}


def benchmark_file(name: str, path: str) -> BenchmarkFile:
    """A BenchmarkFile for one of KNOWN_BENCHMARKS at `path`, with that benchmark's fields."""
    key = name.split("_")[0].split(":")[0].lower()
    if key not in KNOWN_BENCHMARKS:
        raise ConfigError(
            f"benchmark {name!r} has no known fields; known: {', '.join(KNOWN_BENCHMARKS)}. "
            "Give BenchmarkFile(path, fields=[...], choices=[...]) for it instead"
        )
    fields, choices = KNOWN_BENCHMARKS[key]
    return BenchmarkFile(path, fields=fields, choices=choices)


def parse_benchmarks(spec: str | list[str]) -> dict[str, BenchmarkFile]:
    """Benchmarks from a command line: `NAME=PATH` pairs separated by `;` (or a list of them).

    A known name (KNOWN_BENCHMARKS; `arc_easy` counts as `arc`) takes its fields from there; any name
    may give them as `NAME[field,field|choice,choice]=PATH`. Example:
    `mmlu=data/mmlu.jsonl;mine[question|answer]=s3://bucket/evals.parquet`.
    """
    if not isinstance(spec, str):
        spec = ";".join(spec)
    benchmarks = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        match = re.fullmatch(r"([\w.:-]+)(?:\[([^\]]*)\])?=(.+)", part)
        if not match:
            raise ConfigError(f"benchmark {part!r}: write NAME=PATH or NAME[field,field|choice,choice]=PATH")
        name, field_spec, path = match.groups()
        if field_spec is None:
            benchmarks[name] = benchmark_file(name, path.strip())
            continue
        prompt, _, choice = field_spec.partition("|")
        benchmarks[name] = BenchmarkFile(
            path.strip(),
            fields=[f.strip() for f in prompt.split(",") if f.strip()],
            choices=[c.strip() for c in choice.split(",") if c.strip()],
        )
    if not benchmarks:
        raise ConfigError(f"no benchmark in {spec!r}: write NAME=PATH;NAME=PATH")
    return benchmarks


_WORD = re.compile(r"\w+")


def normalise(text: str) -> list[str]:
    """Cosmopedia's word normalisation: NFD, combining marks removed, lowercase, `\\w+` words."""
    if not text.isascii():
        text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return _WORD.findall(text.lower())


def ngram_hashes(words: list[str], n: int) -> np.ndarray:
    """64-bit xxhash of every n-gram of `words` (joined by spaces), in order of position."""
    return np.fromiter(
        (xxhash.xxh64_intdigest(" ".join(words[i : i + n]).encode()) for i in range(len(words) - n + 1)),
        dtype=np.uint64,
        count=max(len(words) - n + 1, 0),
    )


def match_ratio(doc_words: list[str], bench_text: str) -> float:
    """Cosmopedia's diff ratio: characters in SequenceMatcher blocks longer than 5, whitespace
    collapsed, over the length of the benchmark text (both as normalised, space-joined words)."""
    doc_text = " ".join(doc_words)
    if not bench_text:
        return 0.0
    matcher = difflib.SequenceMatcher(None, doc_text, bench_text, autojunk=False)
    parts = [doc_text[a : a + size] for a, _, size in matcher.get_matching_blocks() if size > 5]
    return len(" ".join("".join(parts).split())) / len(bench_text)


# ----------------------------------------------------------------------------------------------------
# Reading benchmark files


def _values(record, dotted: str) -> list[str]:
    """The strings at a dotted path in a record, mapping over lists; [] when absent."""
    values = [record]
    for part in dotted.split("."):
        found = []
        for value in values:
            if isinstance(value, dict) and part in value:
                value = value[part]
                found.extend(value if isinstance(value, list) else [value])
        values = found
    return [str(v) for v in values if v is not None and not isinstance(v, (dict, list)) and str(v).strip()]


def _records(path: str):
    """(line number, record) of a jsonl or parquet file; ConfigError when it cannot be read."""
    from datatrove.io import open_file

    try:
        if path.endswith(".parquet"):
            import pyarrow.parquet as pq

            with open_file(path, "rb") as f:
                yield from enumerate(pq.read_table(f).to_pylist())
            return
        with open_file(path, "rb", compression="infer") as f:
            for number, line in enumerate(f):
                if line.strip():
                    yield number, orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise ConfigError(f"benchmark file {path}: line {number + 1} is not JSON ({e})") from e
    except (OSError, ValueError, ImportError) as e:
        raise ConfigError(f"benchmark file {path} cannot be read: {e}") from e


@dataclass
class BenchmarkItems:
    """One benchmark's indexable texts: one per item, or one per (item, choice)."""

    name: str
    item_ids: list[str]
    texts: list[str]
    items: int = 0
    empty: int = 0


def read_benchmark(name: str, bench: BenchmarkFile) -> BenchmarkItems:
    """All texts of one benchmark file. ConfigError when the file is missing, unreadable, empty, or a
    named field is absent from every record: those are mistakes in what the user pointed us at."""
    out = BenchmarkItems(name, [], [])
    seen = Counter()
    for number, record in _records(bench.path):
        if not isinstance(record, dict):
            raise ConfigError(f"benchmark file {bench.path}: line {number + 1} is not a JSON object")
        out.items += 1
        prompt = [v for field in bench.fields for v in _values(record, field)]
        options = [v for field in bench.choices for v in _values(record, field)]
        seen.update(f for f in bench.fields + bench.choices if _values(record, f))
        seen.update([bench.id_field] if bench.id_field in record else [])
        item_id = str(record.get(bench.id_field or "id", number))
        texts = ["\n".join(prompt + [option]) for option in options] or ["\n".join(prompt)]
        texts = [t for t in texts if t.strip()]
        if not texts:
            out.empty += 1
        out.item_ids.extend([item_id] * len(texts))
        out.texts.extend(texts)
    if not out.items:
        raise ConfigError(f"benchmark file {bench.path} ({name}) holds no records")
    missing = [
        f for f in bench.fields + bench.choices + ((bench.id_field,) if bench.id_field else ()) if not seen[f]
    ]
    if missing:
        raise ConfigError(
            f"benchmark {name}: field(s) {missing} appear in no record of {bench.path}; "
            "name the fields its records have (dotted for nested ones, e.g. choices.text)"
        )
    return out


# ----------------------------------------------------------------------------------------------------
# The index


class BenchmarkIndex:
    """n-gram hash -> benchmark texts, as two parallel arrays sorted by hash (12 bytes an entry, so
    tens of thousands of items index in megabytes), plus each text normalised (space-joined words)."""

    def __init__(self, benchmarks: list[BenchmarkItems], n: int):
        self.n = n
        self.names: list[str] = []  # per text: benchmark name
        self.item_ids: list[str] = []
        self.normalised: list[str] = []
        self.lengths: list[int] = []  # in words
        self.too_short: Counter = Counter()
        hashes, owners = [], []
        for bench in benchmarks:
            for item_id, text in zip(bench.item_ids, bench.texts, strict=True):
                words = normalise(text)
                grams = np.unique(ngram_hashes(words, n))
                if not len(grams):
                    # Cosmopedia skips these too: no n-gram can make them a candidate
                    self.too_short[bench.name] += 1
                    continue
                hashes.append(grams)
                owners.append(np.full(len(grams), len(self.normalised), dtype=np.int32))
                self.names.append(bench.name)
                self.item_ids.append(item_id)
                self.normalised.append(" ".join(words))
                self.lengths.append(len(words))
        keys = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
        texts = np.concatenate(owners) if owners else np.empty(0, np.int32)
        order = np.argsort(keys, kind="stable")
        self.keys, self.texts = keys[order], texts[order]

    def __len__(self) -> int:
        return len(self.normalised)

    def candidates(self, doc_hashes: np.ndarray) -> list[tuple[int, int, int, int]]:
        """(text, shared n-grams, first and last doc position) of every text sharing an n-gram with
        the document, most shared first."""
        if not len(doc_hashes) or not len(self.keys):
            return []
        left = np.searchsorted(self.keys, doc_hashes, side="left")
        right = np.searchsorted(self.keys, doc_hashes, side="right")
        hit = np.nonzero(right > left)[0]
        found: dict[int, list[int]] = {}
        for pos in hit.tolist():
            for text in self.texts[left[pos] : right[pos]].tolist():
                found.setdefault(text, []).append(pos)
        ranked = [(text, len(p), p[0], p[-1]) for text, p in found.items()]
        return sorted(ranked, key=lambda c: (-c[1], c[0]))


# ----------------------------------------------------------------------------------------------------
# The filter


class BenchmarkDecontaminator(BaseFilter):
    """Drop documents that contain a benchmark item, with reason `contaminated_<benchmark>`.

    Args:
        benchmarks: {name: BenchmarkFile, or a path for a name in KNOWN_BENCHMARKS}. The name is the
            drop reason's suffix and the stats key (`dropped_contaminated_<name>`).
        method: "difflib" (Cosmopedia: 10-gram candidates, then the diff ratio) or "ngrams" (datatrove's
            NGramsDecontFilter: any shared `n_grams`-gram drops the document; no ratio).
        n_grams: candidate n-gram length in normalised words (Cosmopedia: 10).
        threshold: drop when the matched share of a benchmark text exceeds it (Cosmopedia: 0.5).
        max_candidates: benchmark texts diffed per document, those sharing the most n-grams first. Items
            from one template (MMLU's moral scenarios share a long stem) can all be candidates of one
            document; the item really pasted shares the most n-grams and is diffed first.
        exclusion_writer: receives dropped documents with `filter_reason` and, for "difflib",
            `contaminated_benchmark`, `contaminated_item` and `contaminated_ratio` in metadata
            (for "ngrams": datatrove's `contaminated_task` and `contaminated_ngram`).

    The files are read and checked when the block is built (missing or unreadable file, no records, a
    named field in no record: ConfigError), and indexed once per task, before its first document.
    """

    name = "🧪 Benchmark decontamination"

    def __init__(
        self,
        benchmarks: dict[str, "BenchmarkFile | str"],
        method: str = "difflib",
        n_grams: int = 10,
        threshold: float = 0.5,
        max_candidates: int = 20,
        exclusion_writer: DiskWriter | None = None,
        language: str = Languages.english,
    ):
        super().__init__(exclusion_writer)
        if method not in METHODS:
            raise ConfigError(f"decontamination method {method!r}: use one of {', '.join(METHODS)}")
        if not benchmarks:
            raise ConfigError("decontamination needs at least one benchmark file")
        if n_grams < 1 or not 0 < threshold < 1 or max_candidates < 1:
            raise ConfigError("decontamination: n_grams >= 1, 0 < threshold < 1 and max_candidates >= 1")
        self.benchmarks = {
            name: bench if isinstance(bench, BenchmarkFile) else benchmark_file(name, bench)
            for name, bench in benchmarks.items()
        }
        for name in self.benchmarks:
            if not re.fullmatch(r"[\w.:-]+", name):
                raise ConfigError(f"benchmark name {name!r}: use letters, digits, _ . : -")
        self.method = method
        self.n_grams = n_grams
        self.threshold = threshold
        self.max_candidates = max_candidates
        self.language = language
        if method == "ngrams":
            _check_tokenizer(language)
        # fail here, on the launching machine, rather than in every task
        self.item_counts = {name: self._read(name).items for name in self.benchmarks}
        self._index = None
        self._ngrams_filter = None

    def _read(self, name: str) -> BenchmarkItems:
        return read_benchmark(name, self.benchmarks[name])

    def run(self, data, rank: int = 0, world_size: int = 1):
        self.load()
        yield from super().run(data, rank, world_size)

    def load(self):
        """Read and index the benchmark files (once per task)."""
        if self._index is not None or self._ngrams_filter is not None:
            return
        items = [self._read(name) for name in self.benchmarks]
        if self.method == "ngrams":
            self._ngrams_filter = _datatrove_filter(items, self.n_grams, self.language)
            return
        self._index = BenchmarkIndex(items, self.n_grams)
        for name, count in self._index.too_short.items():
            logger.warning(
                f"{count} texts of benchmark {name} have fewer than {self.n_grams} words: not indexed"
            )
        logger.info(
            f"Indexed {len(self._index)} benchmark texts, {len(self._index.keys)} {self.n_grams}-grams"
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        self.load()
        if self.method == "ngrams":
            return self._filter_ngrams(doc)
        words = normalise(doc.text)
        candidates = self._index.candidates(ngram_hashes(words, self.n_grams))
        if not candidates:
            return True
        self.stat_update("candidates")
        for text, _, first, last in candidates[: self.max_candidates]:
            # Cosmopedia diffs the whole document; a margin of ten benchmark-text lengths around the
            # shared n-grams is the whole of most generated texts and bounds the cost on long ones.
            margin = WINDOW_LENGTHS * self._index.lengths[text]
            window = words[max(0, first - margin) : last + self.n_grams + margin]
            ratio = match_ratio(window, self._index.normalised[text])
            if ratio > self.threshold:
                name = self._index.names[text]
                doc.metadata[keys.CONTAMINATED_BENCHMARK] = name
                doc.metadata[keys.CONTAMINATED_ITEM] = self._index.item_ids[text]
                doc.metadata[keys.CONTAMINATED_RATIO] = round(ratio, 4)
                return False, f"contaminated_{name}"
        return True

    def _filter_ngrams(self, doc: Document) -> bool | tuple[bool, str]:
        result = self._ngrams_filter.filter(doc)
        if result is True:
            return True
        return False, f"contaminated_{doc.metadata[CONTAMINATED_TASK]}"


def _check_tokenizer(language: str) -> None:
    """datatrove's word tokenizer for `language` must be installable before any task starts (English
    is spaCy's)."""
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    try:
        load_word_tokenizer(language)
    except (ImportError, ValueError) as e:
        raise ConfigError(f'method="ngrams" needs datatrove\'s {language} word tokenizer: {e}') from e


def _datatrove_filter(items: list[BenchmarkItems], n_grams: int, language: str):
    """datatrove's NGramsDecontFilter over the user's files.

    datatrove's indexer (NGramsDecontIndexer) cannot index them: the class requires lighteval (checked
    when it is built), and after reading the documents it is given, its run always calls
    `Registry(cache_dir=..., custom_tasks=...).get_task_dict(...)`, which lighteval 0.13 no longer has
    (no `cache_dir`, no `get_task_dict`), so it fails even with lighteval installed. The hashes are
    therefore made with the indexer's own code (its compute_hashes: datatrove's text normalisation,
    word tokenizer and hash function), each benchmark text as a "label" so that all its n-grams count,
    and handed to datatrove's filter as the index it would have loaded from the indexer's files.
    """
    from datatrove.pipeline.decont.n_grams import NGramsDecontConfig, NGramsDecontFilter, NGramsDecontIndexer
    from datatrove.utils.hashing import HashConfig

    # datatrove's default xxhash config hashes `str`, which xxhash >= 4.1 refuses; sha1 takes str
    config = NGramsDecontConfig(n_grams=n_grams, hash_config=HashConfig(hash_fc="sha1"))
    ngrams_filter = NGramsDecontFilter(index_folder=".", config=config, language=language)
    index = {}
    for bench in items:
        for text in bench.texts:
            for h in NGramsDecontIndexer.compute_hashes(ngrams_filter, text):
                index.setdefault(h, bench.name)
    ngrams_filter._index_hashes = index
    return ngrams_filter
