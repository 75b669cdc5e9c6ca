"""Strip the cliché openers generators put in front of the text they were asked for."""

import re

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys

# (name, pattern) pairs. Each matches one opener (a line or a sentence) at the very start of the text;
# the name is the stat key. Content openers ("Title: X", which the prompts forbid) and chatty
# acknowledgements ("Sure! Here is ...") both go: the prompts asked for the text itself.
_DOC_WORDS = (
    r"(?:post|blog|article|story|chapter|unit|section|textbook|wikihow|tutorial|guide|piece|extract|essay"
    r"|lesson|module|response|version|draft|text|answer)"
)
_UNIT_WORDS = (
    r"(?:unit|chapter|lesson|course|module|section|sub-unit|blog|post|article|guide|tutorial|journey"
    r"|exploration|episode|world of|adventure)"
)
_END = r"[^\n.!?:]*[.!?:]+(?=\s|$)"  # the rest of the sentence, up to its final mark
DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("title", r"(?:\*\*)?(?:#+\s*)?(?:title|제목)\s*[:：][^\n]*(?:\n|$)"),
    # "Sure!" / "Certainly, here is": an acknowledgement, never "Of course, nobody knew..."
    (
        "sure",
        r"(?:sure|of course|absolutely|certainly|okay)(?:\s+thing)?\s*(?:[!.]+|,(?=\s*(?:here|below|i\b|let)))",
    ),
    ("happy_to", rf"i(?:'d| would| am|'m) (?:be )?(?:happy|glad|delighted) to\b{_END}"),
    ("here_is", rf"here(?:'s| is| are)\b[^\n.!?:]*?\b{_DOC_WORDS}\b{_END}"),
    ("welcome", rf"welcome to (?:this|our|today's|the|my)\s+(?:[\w'-]+\s+){{0,3}}?{_UNIT_WORDS}\b{_END}"),
    (
        "hello_readers",
        r"(?:hello|hi|hey|greetings|dear)\b[^\n.!?]{0,40}?\b(?:readers?|learners?|students?"
        r"|friends?|everyone|all|folks|there)\b[^\n.!?]*[.!?,]+(?=\s|$)",
    ),
    (
        "ko_certainly",
        r"(?:물론(?:입니다|이죠|이에요|이지요)?|네[,!.]?\s*알겠습니다|알겠습니다|좋습니다)\s*[!.,~]+",
    ),
    ("ko_here", r"(?:다음은|아래는|요청하신)[^\n]*?(?:입니다|이에요|습니다)\s*[.:!]+"),
    ("ko_welcome", r"[^\n.!?]{0,30}오신 (?:것을|걸) 환영(?:합니다|해요)\s*[!.~]*"),
    ("ko_hello", r"안녕하세요(?:[,\s]*(?:여러분|독자 여러분|친구들))?\s*[!.,~]+"),
)

# One emoji: a pictograph with its variation selector, skin tone or joiner
_EMOJI = (
    r"(?:[\U0001F000-\U0001F3FA\U0001F400-\U0001FAFF\u2190-\u21FF\u2300-\u23FF\u2600-\u27BF\u2B00-\u2BFF]"
    r"[\uFE0F\u200D\u20E3\U0001F3FB-\U0001F3FF]*)"
)
# possessive (*+): a tag or word never gives back letters for the next part to take, which on a line
# of many tags followed by more lines made the search backtrack for minutes
_TAG = r"[#@][^\W\d_]\w*+"  # "#Sustainability", "@greenlife"
_SEP = r"[ \t,.;:!·|/&-]*+"
_WORD = r"[^\W\d_][\w'’]*+"
# up to three plain words between tags, or after the last one: "| Healthcare Innovations #HealthTech"
_FEW_WORDS = rf"(?:{_WORD}[ \t,.;:!·|/&-]+){{0,3}}"
_LAST_WORDS = rf"(?:{_WORD}(?:[ \t,.;:!·|/&-]+{_WORD}){{0,2}})?"
# (name, pattern) pairs for closers: each matches one unit at the very end of the text, after the
# content. Only sign-offs that carry nothing for a reader: a line of hashtags or handles, a run of
# emojis, a chat reply to a thanks that never came. A closer that belongs to the genre stays: "Happy
# baking! 🍞" at the end of a recipe post keeps its one emoji.
DEFAULT_CLOSERS: tuple[tuple[str, str], ...] = (
    ("emoji", rf"(?:(?<=[.!?)\]\"'*])|(?m:^))(?:[ \t]*{_EMOJI}){{2,}}[ \t]*[.!]*\Z"),
    # a line that starts with a tag and is tags at heart: at most three plain words between tags
    (
        "hashtags",
        rf"(?m)^[ \t]*(?:{_EMOJI}[ \t]*)*{_TAG}"
        rf"(?:{_SEP}{_FEW_WORDS}(?:{_TAG}|{_EMOJI}))*{_SEP}{_LAST_WORDS}{_SEP}\Z",
    ),
    # the whole line, so "You are welcome to visit the museum." stays
    (
        "youre_welcome",
        rf"(?m)^[ \t]*you(?:'re|’re| are) (?:very |most )?welcome[ \t!.,~]*(?:{_EMOJI}[ \t!.]*)*\Z",
    ),
)


class BoilerplateCleaner(PipelineStep):
    """Remove a generated opener from the first line(s) and a sign-off from the very end of each document.

    Openers: only the very start is touched, at most `max_openers` openers in a row ("Sure! Here is
    the post:"), so a "Welcome" deep in a story stays. Each opener pattern that fired is counted as
    `stripped_<name>`.

    Closers (a separate pattern set, `closers`): only the very end is touched, at most `max_closers`
    in a row ("Happy learning! 😊😊😊" loses its emoji run, a final "#Sustainability #Fashion" line
    goes, a lone "You're welcome!!!" goes). Each is counted as `stripped_closer_<name>`. A text that
    ends in more closers than that is left as it was (counted `kept_many_closers`): a tail that is
    mostly hashtags and emojis is degeneration, for DegenerationFilter to drop, not a sign-off to
    tidy away. `closers=()` turns closer removal off.

    The untouched text goes to metadata `original_text` when something changed. A document that would
    become empty is left as it was (counted `kept_all_boilerplate`) for the length filter to judge.

    A changed document that carries a token count (`token_length`, `token_count`) is recounted
    with the tokenizer of its metadata `model` (loaded once per model), so the counts describe the
    text that is kept. When that tokenizer cannot be loaded, the generator's count stays, counted
    as `tokens_not_recounted` and said once in the log.
    """

    name = "🧹 Boilerplate"
    type = "✂️ - FORMAT"

    def __init__(
        self,
        patterns: tuple[tuple[str, str], ...] = DEFAULT_PATTERNS,
        max_openers: int = 3,
        closers: tuple[tuple[str, str], ...] = DEFAULT_CLOSERS,
        max_closers: int = 3,
        closer_window: int = 1000,
    ):
        super().__init__()
        self.patterns = patterns
        self.max_openers = max_openers
        self.closers = closers
        self.max_closers = max_closers
        # closers are searched for in the last `closer_window` characters only, so a long text costs
        # no more than a short one
        self.closer_window = closer_window
        self._compiled = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in patterns]
        self._closers = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in closers]
        self._tokenizers = {}

    def clean(self, text: str) -> tuple[str, list[str]]:
        """The text without its openers and closers, and the names of the patterns that removed them
        (closers as `closer_<name>`)."""
        fired = []
        rest = text.lstrip()
        for _ in range(self.max_openers):
            for name, pattern in self._compiled:
                m = pattern.match(rest)
                if m:
                    fired.append(name)
                    rest = rest[m.end() :].lstrip()
                    break
            else:
                break
        rest, closed = self._strip_closers(rest)
        fired += closed
        return (rest, fired) if fired else (text, fired)

    def _strip_closers(self, text: str) -> tuple[str, list[str]]:
        fired = []
        rest = text.rstrip()
        for _ in range(self.max_closers + 1):
            for name, pattern in self._closers:
                m = pattern.search(rest, max(0, len(rest) - self.closer_window))
                if m and m.start() > 0:
                    fired.append(f"closer_{name}")
                    rest = rest[: m.start()].rstrip()
                    break
            else:
                return (rest, fired) if fired else (text, fired)
        self.stat_update("kept_many_closers")
        return text, []

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                cleaned, fired = self.clean(doc.text)
                if fired and cleaned.strip():
                    doc.metadata.setdefault(keys.ORIGINAL_TEXT, doc.text)
                    doc.text = cleaned
                    self._recount_tokens(doc)
                    for name in fired:
                        self.stat_update(f"stripped_{name}")
                    self.stat_update("changed")
                elif fired:
                    self.stat_update("kept_all_boilerplate")
                self.stat_update("total")
            yield doc

    def _recount_tokens(self, doc: Document) -> None:
        meta = doc.metadata
        if meta.get(keys.TOKEN_LENGTH) is None and meta.get(keys.TOKEN_COUNT) is None:
            return  # nothing counted tokens before this step
        model = meta.get(keys.MODEL)
        if model not in self._tokenizers:
            self._tokenizers[model] = _load_tokenizer(model)
        tokenizer = self._tokenizers[model]
        if tokenizer is None:
            self.stat_update("tokens_not_recounted")
            return
        meta[keys.TOKEN_LENGTH] = meta[keys.TOKEN_COUNT] = len(
            tokenizer.encode(doc.text, add_special_tokens=False)
        )
        self.stat_update("tokens_recounted")


def _load_tokenizer(model: str | None):
    """The model's tokenizer, or None (said once per model) when it cannot be loaded."""
    try:
        if not model:
            raise ValueError("the document names no model")
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(model)
    except Exception as error:  # any loading failure means the same thing here: keep the old count
        logger.warning(
            f"cannot load the tokenizer of {model!r} ({type(error).__name__}: {error}); cleaned documents keep "
            "the generator's token_length/token_count (stat tokens_not_recounted)"
        )
        return None
