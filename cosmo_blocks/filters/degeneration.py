"""Drop generations that stop being language: glued words, letter soup, noun heaps, lists, tag tails."""

import re
import unicodedata
from dataclasses import dataclass

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.filters.markdown import prose
from cosmo_blocks.filters.scripts import CJK_CHARS, CJK_LANGS, is_cjk

# Marks stripped from both ends of a whitespace token before it is measured as a word
_EDGE = "\"'`.,;:!?()[]{}<>*_~|/\\-–—=+^…“”‘’«»„‚‹›·•¡¿%&$€£¥"
# a number or formula: 3.14, 2*48, 1/2, (10, 50)
_NUMBER = re.compile(r"[\d.,:/*^+=<>()%±×÷−-]*\d[\d.,:/*^+=<>()%±×÷−-]*")
_LATIN = re.compile(r"[A-Za-z]+")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_UPPER = re.compile(r"[A-Z]")
_LETTER = re.compile(r"[^\W\d_]")  # a letter in any script
_VOWELS = frozenset("aeiouyAEIOUY")  # y counts as a vowel: "rhythm", "myth", "glyph"
_HUMP = re.compile(r"[a-z][A-Z]")  # a lower-to-upper step: "germanChampionShoutOut" has three
_CAPS = re.compile(r"[A-Z][A-Z'’-]*[A-Z]")  # a word in capitals, two letters or more
_TAG = re.compile(r"[#@][^\W\d_]\w*")  # "#Sustainability", "@handle"; "#1" and "## Heading" are no tags
# A sentence ends at a final mark (any script) or a line break
_SENTENCE_END = re.compile(r"[.!?…。！？]|\n")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•‣◦▪]|\(?\d{1,4}[.)]|[a-zA-Z][.)])\s+\S")
_BULLET_LINE = re.compile(r"^\s*(?:[-•‣◦▪]|[*+](?=\s))")  # "**Bold:**" starts no bullet
_ELLIPSIS_END = re.compile(r"(?:\.\.\.|…)\s*$")
_EMOJI_CATEGORIES = frozenset({"So", "Sk", "Mn", "Cf"})  # pictographs, modifiers, selectors, joiners
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
# U+FFFD, and the Latin-1 reading of a two-byte UTF-8 sequence ("Ã¡" for "á", "Â " for a no-break space);
# French and Portuguese capitals ("ÂGE", "SÃO") are followed by letters, not by these
_BROKEN = re.compile(r"\ufffd|[ÃÂ][\u0080-\u00bf]")


def _common_hangul() -> frozenset[str]:
    """The 2,350 Hangul syllables of KS X 1001 (EUC-KR bytes B0A1..C8FE): the ones Korean is written
    with. The other 8,822 syllables Unicode encodes occur in names and loanwords now and then, and all
    the time in a small model's broken Korean ("귴", "짉", "섴")."""
    pairs = (bytes((hi, lo)) for hi in range(0xB0, 0xC9) for lo in range(0xA1, 0xFF))
    return frozenset(pair.decode("euc-kr") for pair in pairs)


_COMMON_HANGUL = _common_hangul()

# English function words: fluent English is 40-50% these, a heap of nouns almost none (Gopher asks for
# two of its eight in a whole document; a tail needs a share)
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from",
    "as", "into", "about", "than", "then", "so", "because", "that", "this", "these", "those", "it", "its",
    "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did", "not",
    "no", "can", "could", "will", "would", "should", "may", "might", "must", "i", "you", "he", "she", "we",
    "they", "me", "him", "her", "us", "them", "my", "your", "his", "our", "their", "there", "here", "what",
    "which", "who", "when", "where", "how", "all", "some", "any", "each", "more", "most", "such", "only",
    "also", "very", "just",
})
# fmt: on


class DegenerationFilter(BaseFilter):
    """Drop a generation that degenerates into something no reader would keep.

    Small models (SmolLM2-135M here) write fluent English for a while, then drift: words glued into
    one long token ("relationshipdestirunningfamilies...", "LETOREgermanChampionShoutOut"), letter
    soup ("jxzqwcacfvbz"), shouting, a heap of nouns with no grammar left, a list that runs until the
    model stops, a tail of hashtags and emojis. The repetition and completeness filters do not see
    these: nothing repeats, and the last line may well end with a full stop. Because the damage is
    usually at the end and a fluent start dilutes it, the word rules are measured on the tail (the
    last `tail_chars` characters) and then on the whole text. Closed code blocks, inline code, URLs,
    e-mail addresses and TeX math are left out first: they are not prose. A code block the model
    never closed is judged as prose.

    Reasons, in the order they are checked (the stat `<reason>_in_tail` / `<reason>_in_whole` says
    which window fired; datatrove counts `dropped_<reason>`):

    - `broken_characters`: more than `max_broken_chars` broken characters: U+FFFD (bytes the model
      sampled that are no valid UTF-8) or UTF-8 read as Latin-1 ("fracÃ¡sca").
    - `endless_list`: the text ends in at least `endless_list_min_items` list items with no prose after
      them: marked items ("- ", "3. ") or paragraphs of one short line (at most `list_fragment_words`
      words: "Dream big.", "Joyful."); or in at least `endless_fragments_min` such fragments, which
      fluent text hardly ever strings together. The model enumerated until it stopped.
    - `sign_off`: at least `min_flagged_words`, and `max_sign_off_share`, of the last `sign_off_words`
      words are hashtags, @-handles or emojis. A short closer after real content (one hashtag line,
      "Happy learning! 😊😊😊") is cleanable, and BoilerplateCleaner strips it before this filter runs;
      a tail that is still mostly tags and emojis is no sign-off but the text running out: dropped.
    - `run_together_words`: at least `max_run_together_share` of the window's word characters are in
      tokens of `run_together_min_chars`+ characters glued from several words (at least
      `run_together_min_humps` lower-to-upper case steps: "germanChampionShoutOut").
    - `letter_runs`: at least `max_letter_run_share` of the word characters are in letter runs no
      language spells: `letter_run_min_chars` letters without a break ("elationshipdestirunning...",
      "UNIFEMUNITEDROARUM...") or one letter `letter_repeat` times in a row ("zzzzz").
    - `consonant_runs`: at least `min_flagged_words` words, and `max_consonant_share` of the words,
      have `consonant_run` consonants in a row ("jxzqwc"; y counts as a vowel) or, from five letters
      up, no vowel at all.
    - `rare_hangul`: at least `min_flagged_words`, and `max_rare_hangul_share`, of the Hangul syllables
      are outside the 2,350 of KS X 1001: SmolLM2's broken Korean ("상귴된", "짉알도").
    - `low_alpha_words`: under `min_alpha_words` of the words have a letter (Gopher: 0.8): symbols and
      emoji where words should be. Numbers and formulas ("2*48", "3.14") are left out of the share, so
      a worked example is no junk.
    - `upper_case`: over `max_upper_share` of the Latin letters are capitals (in a window of at least
      `min_upper_letters` of them), or `max_caps_words` words in capitals in a row: shouting.
    - `few_stop_words`: under `min_stop_word_share` of the words are English function words ("the",
      "of", "is"...): a heap of nouns ("equipment manufactured controlled devices proven reliable...").
    - `run_on`: `max_run_on_words` words in a row without a sentence end or a line break.
    - `word_length`: mean word length outside `min_mean_word_length`..`max_mean_word_length`
      (Gopher: 3..10 characters).
    - `symbol_ratio` (whole text): hashtags and ellipses per word over `max_symbol_word_ratio`
      (Gopher: 0.1; Markdown heading marks are no hashtags).
    - `bullet_lines` / `ellipsis_lines` (whole text, at least `min_lines` lines): over `max_bullet_lines`
      of the lines start with a bullet (Gopher: 0.9), over `max_ellipsis_lines` end with an ellipsis
      (Gopher: 0.3).

    The character-share rules (run-together words, letter runs) judge a window of any size; the rules
    on shares of words wait for `min_words` words.

    Korean, Chinese and Japanese: each window's own script decides (over 30% of its letters CJK, as
    in scripts.is_cjk). A CJK window skips `upper_case`, `few_stop_words`, `run_on` and `word_length`:
    an eojeol or an unspaced sentence is no English word, and Hangul has no capitals or English
    function words. In their place it gets `rare_hangul`. The letter rules look only at Latin letters,
    so they never fire on Hangul or kanji; the alphabetic-word share needs no change (Hangul, kana and
    ideographs are letters). A Latin window in a Korean document is held to the English rules: that is
    the model drifting into English. `few_stop_words` runs on Latin windows of documents whose metadata
    `language` is missing, English or CJK, not on other languages. For `symbol_ratio` two CJK
    characters count as one word, as in RepetitionFilter.

    Every threshold may be None to turn its rule off.
    """

    name = "🫠 Degeneration"

    def __init__(
        self,
        tail_chars: int = 600,
        min_words: int = 30,
        max_broken_chars: int | None = 0,
        endless_list_min_items: int | None = 25,
        endless_fragments_min: int | None = 15,
        list_fragment_words: int = 8,
        sign_off_words: int = 30,
        max_sign_off_share: float | None = 0.4,
        run_together_min_chars: int = 14,
        run_together_min_humps: int = 2,
        max_run_together_share: float | None = 0.1,
        letter_run_min_chars: int = 25,
        letter_repeat: int = 5,
        max_letter_run_share: float | None = 0.1,
        consonant_run: int = 5,
        min_flagged_words: int = 3,
        max_consonant_share: float | None = 0.05,
        max_rare_hangul_share: float | None = 0.02,
        max_upper_share: float | None = 0.5,
        min_upper_letters: int = 100,
        max_caps_words: int | None = 20,
        min_stop_word_share: float | None = 0.15,
        max_run_on_words: int | None = 80,
        min_alpha_words: float | None = 0.8,
        min_mean_word_length: float | None = 3.0,
        max_mean_word_length: float | None = 10.0,
        max_symbol_word_ratio: float | None = 0.1,
        max_bullet_lines: float | None = 0.9,
        max_ellipsis_lines: float | None = 0.3,
        min_lines: int = 10,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.tail_chars = tail_chars
        self.min_words = min_words
        self.max_broken_chars = max_broken_chars
        self.endless_list_min_items = endless_list_min_items
        self.endless_fragments_min = endless_fragments_min
        self.list_fragment_words = list_fragment_words
        self.sign_off_words = sign_off_words
        self.max_sign_off_share = max_sign_off_share
        self.run_together_min_chars = run_together_min_chars
        self.run_together_min_humps = run_together_min_humps
        self.max_run_together_share = max_run_together_share
        self.letter_run_min_chars = letter_run_min_chars
        self.letter_repeat = letter_repeat
        self.max_letter_run_share = max_letter_run_share
        self.consonant_run = consonant_run
        self.min_flagged_words = min_flagged_words
        self.max_consonant_share = max_consonant_share
        self.max_rare_hangul_share = max_rare_hangul_share
        self.max_upper_share = max_upper_share
        self.min_upper_letters = min_upper_letters
        self.max_caps_words = max_caps_words
        self.min_stop_word_share = min_stop_word_share
        self.max_run_on_words = max_run_on_words
        self.min_alpha_words = min_alpha_words
        self.min_mean_word_length = min_mean_word_length
        self.max_mean_word_length = max_mean_word_length
        self.max_symbol_word_ratio = max_symbol_word_ratio
        self.max_bullet_lines = max_bullet_lines
        self.max_ellipsis_lines = max_ellipsis_lines
        self.min_lines = min_lines
        self._repeat = re.compile(rf"([A-Za-z])\1{{{letter_repeat - 1},}}")
        self._consonants = re.compile(rf"[b-df-hj-np-tv-xz]{{{consonant_run},}}", re.IGNORECASE)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text.strip()
        if not text:
            return False, "empty"
        language = doc.metadata.get(keys.LANGUAGE)
        if self.max_broken_chars is not None and len(_BROKEN.findall(text)) > self.max_broken_chars:
            return self._drop("broken_characters", "in_whole")
        items, fragments = _trailing_list_items(text, self.list_fragment_words)
        if (self.endless_list_min_items is not None and items >= self.endless_list_min_items) or (
            self.endless_fragments_min is not None and fragments >= self.endless_fragments_min
        ):
            return self._drop("endless_list", "in_tail")
        words = prose(text)
        tail = _tail(words, self.tail_chars)
        if self.max_sign_off_share is not None and self._sign_off(tail):
            return self._drop("sign_off", "in_tail")
        for where, window in (("in_tail", tail), ("in_whole", words)):
            if where == "in_whole" and len(tail) == len(words):
                break  # a short text is all tail
            # the window's own script decides: Korean text is never held to English word rules, and
            # English that a model drifted into inside a Korean document is
            cjk = is_cjk(window)
            english = not cjk and (not language or _english_or_cjk(language))
            reason = self._word_rules(self._measure(window, cjk), cjk, english)
            if reason:
                return self._drop(reason, where)
        reason = self._text_rules(words, is_cjk(text, language))
        if reason:
            return self._drop(reason, "in_whole")
        return True

    def _drop(self, reason: str, where: str) -> tuple[bool, str]:
        self.stat_update(f"{reason}_{where}")
        return False, reason

    def _sign_off(self, tail: str) -> bool:
        tokens = tail.split()[-self.sign_off_words :]
        tags = sum(1 for t in tokens if _TAG.fullmatch(t.strip(_EDGE)) or _is_emoji(t))
        return tags >= self.min_flagged_words and tags / len(tokens) >= self.max_sign_off_share

    def _measure(self, window: str, cjk: bool) -> "_Words":
        m = _Words()
        caps = 0  # all-capital words in a row
        for line in window.split("\n"):
            run = 0  # words since the last sentence end; a line break ends one too
            for token in line.split():
                if _SENTENCE_END.search(token):
                    m.longest_run, run = max(m.longest_run, run + 1), -1
                run += 1
                word = token.strip(_EDGE)
                self._count(word, m)
                if _CAPS.fullmatch(word):
                    caps += 1
                    m.longest_caps = max(m.longest_caps, caps)
                elif len(word) > 1:  # "I" and "A" are capitals in any sentence
                    caps = 0
            m.longest_run = max(m.longest_run, run)
        m.letters = len(_LATIN_LETTER.findall(window))
        m.upper = len(_UPPER.findall(window))
        if cjk:
            syllables = _HANGUL.findall(window)
            m.hangul = len(syllables)
            m.rare_hangul = sum(1 for c in syllables if c not in _COMMON_HANGUL)
        return m

    def _count(self, word: str, m: "_Words") -> None:
        if not word:
            return  # a lone dash or pipe is punctuation, not a word
        m.words += 1
        m.chars += len(word)
        if _LETTER.search(word):
            m.alpha += 1
        elif _NUMBER.fullmatch(word):
            m.numbers += 1
        if word.lower() in STOP_WORDS:
            m.stop += 1
        if (
            len(word) >= self.run_together_min_chars
            and len(_HUMP.findall(word)) >= self.run_together_min_humps
        ):
            m.run_together += len(word)
            return
        for latin in _LATIN.findall(word):
            if len(latin) >= self.letter_run_min_chars:
                m.letter_runs += len(latin)
            elif self._repeat.search(latin):
                m.letter_runs += sum(len(r.group()) for r in self._repeat.finditer(latin))
            elif self._consonants.search(latin) or (
                len(latin) >= 5 and latin.islower() and not _VOWELS.intersection(latin)
            ):
                m.consonant_words += 1

    def _word_rules(self, m: "_Words", cjk: bool, english: bool) -> str | None:
        if not m.words:
            return None
        share = self.max_run_together_share
        if share is not None and m.run_together / m.chars >= share:
            return "run_together_words"
        share = self.max_letter_run_share
        if share is not None and m.letter_runs / m.chars >= share:
            return "letter_runs"
        share = self.max_consonant_share
        if (
            share is not None
            and m.consonant_words >= self.min_flagged_words
            and m.consonant_words / m.words >= share
        ):
            return "consonant_runs"
        share = self.max_rare_hangul_share
        if (
            share is not None
            and m.rare_hangul >= self.min_flagged_words
            and m.rare_hangul / m.hangul >= share
        ):
            return "rare_hangul"
        if m.words < self.min_words:
            return None
        # numbers and formulas are left out: a worked example ("Y = 80 + 2*48 = 176") is no junk
        worded = m.words - m.numbers
        if self.min_alpha_words is not None and worded and m.alpha / worded < self.min_alpha_words:
            return "low_alpha_words"
        if not cjk:
            if (
                self.max_upper_share is not None
                and m.letters >= self.min_upper_letters
                and m.upper / m.letters > self.max_upper_share
            ):
                return "upper_case"
            if self.max_caps_words is not None and m.longest_caps >= self.max_caps_words:
                return "upper_case"
            if (
                english
                and self.min_stop_word_share is not None
                and m.stop / m.words < self.min_stop_word_share
            ):
                return "few_stop_words"
            if self.max_run_on_words is not None and m.longest_run >= self.max_run_on_words:
                return "run_on"
            mean = m.chars / m.words
            if self.min_mean_word_length is not None and mean < self.min_mean_word_length:
                return "word_length"
            if self.max_mean_word_length is not None and mean > self.max_mean_word_length:
                return "word_length"
        return None

    def _text_rules(self, prose: str, cjk: bool) -> str | None:
        """Gopher's whole-document symbol and line rules."""
        words = len(prose.split())
        if cjk:
            words = max(words, len(CJK_CHARS.findall(prose)) // 2)
        if self.max_symbol_word_ratio is not None and words:
            symbols = len(_TAG.findall(prose)) + prose.count("...") + prose.count("…")
            if symbols / words > self.max_symbol_word_ratio:
                return "symbol_ratio"
        lines = [line for line in prose.splitlines() if line.strip()]
        if len(lines) < self.min_lines:
            return None  # in a short text one line is too large a share to judge by
        bullets = sum(1 for line in lines if _BULLET_LINE.match(line))
        if self.max_bullet_lines is not None and bullets / len(lines) > self.max_bullet_lines:
            return "bullet_lines"
        ellipses = sum(1 for line in lines if _ELLIPSIS_END.search(line))
        if self.max_ellipsis_lines is not None and ellipses / len(lines) > self.max_ellipsis_lines:
            return "ellipsis_lines"
        return None


@dataclass
class _Words:
    """Counts over one window's words."""

    words: int = 0
    chars: int = 0
    alpha: int = 0
    numbers: int = 0
    stop: int = 0
    letters: int = 0  # Latin letters
    upper: int = 0
    run_together: int = 0  # characters
    letter_runs: int = 0  # characters
    consonant_words: int = 0
    hangul: int = 0  # Hangul syllables (counted in CJK windows only)
    rare_hangul: int = 0  # outside KS X 1001
    longest_run: int = 0  # words without a sentence end
    longest_caps: int = 0  # all-capital words in a row


def _tail(text: str, chars: int) -> str:
    """The last `chars` characters, starting at a word boundary."""
    if len(text) <= chars:
        return text
    tail = text[-chars:]
    space = re.search(r"\s", tail)
    return tail[space.end() :] if space else tail


def _trailing_list_items(text: str, fragment_words: int) -> tuple[int, int]:
    """How many list items the text ends with, and how many of them are unmarked fragments.

    Items are marked ("- ", "3. ", "b) ", with their indented continuation lines) or paragraphs that
    are one short line (`fragment_words` words at most): the unmarked list a model writes when it has
    nothing left to say ("Dream big.", "Joyful."). (0, 0) when the last paragraph is prose. A heading
    ends the count (the list under "## Tips" is the tips, not the steps above it too), and a poem's
    short lines share a paragraph, so they do not count."""
    items = fragments = 0
    for paragraph in reversed(_PARAGRAPHS.split(text.strip())):
        lines = paragraph.split("\n")
        if len(lines) == 1 and not _LIST_ITEM.match(paragraph):
            if len(paragraph.split()) > fragment_words or paragraph.startswith("#"):
                break
            items += 1
            fragments += 1
            continue
        for line in reversed(lines):
            if _LIST_ITEM.match(line):
                items += 1
            elif not (line[:1].isspace() and items):  # an indented line continues the item above it
                return items, fragments  # the list starts under this line
    return items, fragments


def _english_or_cjk(language: object) -> bool:
    """English, or a CJK language whose Latin-script passages are English in practice."""
    code = re.split(r"[-_]", str(language))[0].lower()
    return code in ("en", "eng") or code in CJK_LANGS


def _is_emoji(token: str) -> bool:
    return any(unicodedata.category(c) == "So" for c in token) and all(
        unicodedata.category(c) in _EMOJI_CATEGORIES for c in token
    )
