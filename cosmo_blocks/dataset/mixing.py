"""Real and synthetic text mixed at a token ratio, from any two datatrove readers.

Cosmopedia's ablations trained best on a mix of real and synthetic text. `Mixer` is the first step
of a pipeline: each task reads its own shard of both readers (`reader.run(None, rank, world_size)`,
so datatrove's file sharding applies to each side) and interleaves them by tokens, with no
randomness: the same inputs and the same task count give the same output.
"""

from pathlib import Path

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

SYNTHETIC = "synthetic"
ON_EXHAUSTED = ("stop", "emit_rest")
# v0.1 of the released Cosmopedia names the count `text_token_length`; read as-is by a plain reader
_TOKEN_KEYS = (keys.TOKEN_LENGTH, keys.TOKEN_COUNT, "text_token_length")
# English BPE vocabularies average about 4 characters per token. Against the SmolLM2 tokenizer it
# overestimated SmolLM2 generations by 15% and underestimated Debian docs by 7% (tokens in total):
# mixed at alpha 0.5, that bias puts the true alpha near 0.45. Pass a tokenizer when that matters.
CHARS_PER_TOKEN = 4.0


class Mixer(PipelineStep):
    """Interleave real and synthetic documents so that synthetic text is `alpha` of the tokens.

    alpha = synthetic tokens / (synthetic tokens + real tokens), over the documents a task emits.
    Each next document comes from synthetic while `synthetic * (1 - alpha) <= real * alpha` (tokens
    emitted so far), else from real; so within a task the achieved alpha never strays from the
    target by more than one document's tokens over the tokens emitted.

    Tokens per document, in this order: every document counted by `tokenizer` when one is given (a
    `tokenizer.json`, or a folder holding one, e.g. the SmolLM2 model folder `cosmo small-model`
    builds): one tokenizer for both sides keeps alpha honest; else the document's own count in
    metadata (`token_length`, `token_count`, or the released v0.1's `text_token_length`); else
    characters / 4 (see CHARS_PER_TOKEN for its error).

    When the side the ratio needs next has run out, `on_exhausted` decides:
      "stop" (default): the task ends there, keeping the ratio; the other side's remaining
        documents are not read. Stat `exhausted_<source>` names the side that ran out.
      "emit_rest": the other side's remaining documents follow, so every input document is
        emitted and the ratio drifts; they are counted as `rest_<source>`.

    Every document gets metadata `source`: "synthetic" or `real_name`. Stats per source:
    `docs_<source>`, `tokens_<source>`; how tokens were counted (`counted_tokenizer`,
    `counted_metadata`, `counted_estimate`); and `task_alpha`, the achieved alpha of each task
    (min/max across tasks in merged stats). `mix_summary` reads the achieved alpha of a whole run
    from its stats.json.
    """

    name = "🥣 Mixer"
    type = "📖 - READER"

    def __init__(
        self,
        real: PipelineStep,
        synthetic: PipelineStep,
        alpha: float = 0.5,
        real_name: str = "real",
        on_exhausted: str = "stop",
        tokenizer: str | Path | None = None,
    ):
        super().__init__()
        if not 0 < alpha < 1:
            raise ConfigError(f"alpha is the synthetic share of tokens and must be in (0, 1), got {alpha}")
        if on_exhausted not in ON_EXHAUSTED:
            raise ConfigError(f"on_exhausted must be one of {ON_EXHAUSTED}, got {on_exhausted!r}")
        if not real_name or real_name == SYNTHETIC:
            raise ConfigError(f"real_name must be a non-empty name other than {SYNTHETIC!r}")
        self.real, self.synthetic = real, synthetic
        self.alpha = alpha
        self.real_name = real_name
        self.on_exhausted = on_exhausted
        self.tokenizer_path = _tokenizer_file(tokenizer) if tokenizer else None
        self._tokenizer = None

    def count_tokens(self, doc: Document) -> int:
        if self.tokenizer_path:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(self.tokenizer_path))
            self.stat_update("counted_tokenizer")
            return len(self._tokenizer.encode(doc.text, add_special_tokens=False).ids)
        for key in _TOKEN_KEYS:
            value = doc.metadata.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                self.stat_update("counted_metadata")
                return value
        self.stat_update("counted_estimate")
        return round(len(doc.text) / CHARS_PER_TOKEN)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            raise ConfigError("Mixer reads its own two readers: put it first in the pipeline")
        sides = {
            SYNTHETIC: iter(self.synthetic.run(None, rank, world_size)),
            self.real_name: iter(self.real.run(None, rank, world_size)),
        }
        tokens = dict.fromkeys(sides, 0)
        try:
            yield from self._interleave(sides, tokens)
        finally:
            for side in sides.values():
                close = getattr(side, "close", None)
                if close:
                    close()
        total = sum(tokens.values())
        if total:
            achieved = tokens[SYNTHETIC] / total
            self.stat_update("task_alpha", value=achieved, unit="task")
            logger.info(f"mixed {tokens} tokens: achieved alpha {achieved:.4f} (target {self.alpha})")

    def _interleave(self, sides: dict, tokens: dict) -> DocumentsPipeline:
        real = self.real_name
        while True:
            wanted = SYNTHETIC if tokens[SYNTHETIC] * (1 - self.alpha) <= tokens[real] * self.alpha else real
            doc = next(sides[wanted], None)
            if doc is not None:
                yield self._emit(doc, wanted, tokens)
                continue
            self.stat_update(f"exhausted_{wanted}", unit="task")
            if self.on_exhausted == "emit_rest":
                other = real if wanted == SYNTHETIC else SYNTHETIC
                for doc in sides[other]:
                    self.stat_update(f"rest_{other}")
                    yield self._emit(doc, other, tokens)
            return

    def _emit(self, doc: Document, source: str, tokens: dict) -> Document:
        n = self.count_tokens(doc)
        tokens[source] += n
        doc.metadata[keys.SOURCE] = source
        self.stat_update(f"docs_{source}")
        self.stat_update(f"tokens_{source}", value=n)
        self.update_doc_stats(doc)
        return doc


def _tokenizer_file(tokenizer: str | Path) -> Path:
    path = Path(tokenizer)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(
            f"no tokenizer at {path}: give a tokenizer.json (or its folder, e.g. the one `cosmo small-model` "
            "builds), or leave tokenizer unset to use token counts from metadata"
        )
    return path


def mix_summary(stats: list | dict | str | Path) -> dict:
    """Tokens and documents per source and the achieved alpha of a whole run, from the Mixer's entry
    in datatrove's stats: the stage's logging folder (its stats.json, or on SLURM, where no task
    merges them, the per-task stats), a stats.json path, its parsed list, or one step's dict."""
    if isinstance(stats, str | Path):
        from cosmo_blocks.run.summary import load_stats

        path = Path(stats)
        stats = load_stats(path) if path.is_dir() else orjson.loads(path.read_bytes())
    steps = stats if isinstance(stats, list) else [stats]
    step = next((s for s in steps if str(s.get("name", "")).endswith(Mixer.name)), None)
    if step is None:
        raise ConfigError(f"no {Mixer.name} step in these stats: is this the mixing stage's stats.json?")
    counts = step["stats"]

    def total(key: str) -> int:
        value = counts.get(key, 0)
        return int(value["total"] if isinstance(value, dict) else value)

    sources = sorted(k.removeprefix("tokens_") for k in counts if k.startswith("tokens_"))
    tokens = {s: total(f"tokens_{s}") for s in sources}
    all_tokens = sum(tokens.values())
    return {
        "tokens": tokens,
        "docs": {s: total(f"docs_{s}") for s in sources},
        "alpha": tokens.get(SYNTHETIC, 0) / all_tokens if all_tokens else None,
        "exhausted": {s: total(f"exhausted_{s}") for s in sources if f"exhausted_{s}" in counts},
    }
