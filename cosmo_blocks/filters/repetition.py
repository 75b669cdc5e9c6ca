"""Drop repetitive generations: Gopher's repetition rules, fast, plus a stuck-at-the-tail detector."""

import re
from collections import Counter
from itertools import accumulate

import xxhash
from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.filters.scripts import is_cjk

# Words and single punctuation marks: close to what datatrove's spaCy tokenizer gives English
# (which is what the Gopher thresholds were tuned on), at regex speed.
_WORDS = re.compile(r"\w+|[^\w\s]")
_PARAGRAPHS = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")

GOPHER_TOP_N_GRAMS = ((2, 0.20), (3, 0.18), (4, 0.16))
GOPHER_DUP_N_GRAMS = ((5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10))
# In characters, one CJK "word" is about two units: Gopher's n-word orders become 2n characters.
CJK_TOP_N_GRAMS = ((4, 0.20), (6, 0.18), (8, 0.16))
CJK_DUP_N_GRAMS = ((10, 0.15), (12, 0.14), (14, 0.13), (16, 0.12), (18, 0.11), (20, 0.10))


class RepetitionFilter(BaseFilter):
    """Gopher repetition rules (Rae et al. 2021, table A1; same definitions and default thresholds
    as datatrove's GopherRepetitionFilter) without spaCy, plus a tail-loop detector.

    - duplicated paragraphs / lines: fraction of elements and of characters
    - top n-gram: characters covered by the most frequent 2/3/4-gram
    - duplicated n-grams: characters in repeated 5..10-grams
    - tail loop: the generation ends in one unit (a few characters, words or a whole sentence)
      repeated `tail_min_repeats` times over at least `tail_min_chars` characters, i.e. a model
      stuck in a loop until max_tokens; too short a part of the text for the fractions above.

    English and other space-separated scripts are split into words and punctuation marks; Korean,
    Chinese and Japanese (metadata `language`, or mostly CJK characters) into characters, with
    n-gram orders from `cjk_top_n_grams` / `cjk_dup_n_grams`. Any threshold may be None to turn it off.
    Reasons use Gopher's names (`dup_para_frac`, `top_2_gram`, `duplicated_5_n_grams`...) plus
    `tail_loop` and `empty`.
    """

    name = "🔁 Repetition"

    def __init__(
        self,
        dup_line_frac: float | None = 0.3,
        dup_para_frac: float | None = 0.3,
        dup_line_char_frac: float | None = 0.2,
        dup_para_char_frac: float | None = 0.2,
        top_n_grams: tuple[tuple[int, float], ...] = GOPHER_TOP_N_GRAMS,
        dup_n_grams: tuple[tuple[int, float], ...] = GOPHER_DUP_N_GRAMS,
        cjk_top_n_grams: tuple[tuple[int, float], ...] = CJK_TOP_N_GRAMS,
        cjk_dup_n_grams: tuple[tuple[int, float], ...] = CJK_DUP_N_GRAMS,
        tail_loop: bool = True,
        tail_min_repeats: int = 3,
        tail_min_chars: int = 100,
        tail_max_period: int = 200,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.dup_line_frac = dup_line_frac
        self.dup_para_frac = dup_para_frac
        self.dup_line_char_frac = dup_line_char_frac
        self.dup_para_char_frac = dup_para_char_frac
        self.top_n_grams = top_n_grams
        self.dup_n_grams = tuple(sorted(dup_n_grams))
        self.cjk_top_n_grams = cjk_top_n_grams
        self.cjk_dup_n_grams = tuple(sorted(cjk_dup_n_grams))
        self.tail_loop = tail_loop
        self.tail_min_repeats = tail_min_repeats
        self.tail_min_chars = tail_min_chars
        self.tail_max_period = tail_max_period

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text
        if not text or not text.strip():
            return False, "empty"
        reason = self._duplicate_blocks(text)
        if reason:
            return False, reason
        cjk = is_cjk(text, doc.metadata.get(keys.LANGUAGE))
        units = [c for c in text if not c.isspace()] if cjk else _WORDS.findall(text)
        if not units:
            return True
        ids, lengths, length_of = _intern(units)
        # prefix sums of unit lengths: the characters of units[i:j] are cum[j] - cum[i]
        cum = [0, *accumulate(lengths)]
        sep = 0 if cjk else 1  # n-grams of words are joined with spaces, of characters without
        # before the n-gram fractions: a loop at the end is the more specific diagnosis
        if self.tail_loop and self._tail_loop(text, ids, cum, sep):
            return False, "tail_loop"
        if cjk:
            reason = _top_n_gram(ids, length_of, len(text), self.cjk_top_n_grams, sep)
            reason = reason or _dup_n_gram(ids, cum, len(text), self.cjk_dup_n_grams)
        else:
            reason = _top_n_gram(ids, length_of, len(text), self.top_n_grams, sep)
            reason = reason or _dup_n_gram(ids, cum, len(text), self.dup_n_grams)
        if reason:
            return False, reason
        return True

    def _duplicate_blocks(self, text: str) -> str | None:
        paragraphs = _PARAGRAPHS.split(text.strip())
        dup, dup_chars = _duplicates(paragraphs)
        if self.dup_para_frac and dup / len(paragraphs) > self.dup_para_frac:
            return "dup_para_frac"
        if self.dup_para_char_frac and dup_chars / len(text) > self.dup_para_char_frac:
            return "dup_para_char_frac"
        lines = _LINES.split(text)
        dup, dup_chars = _duplicates(lines)
        if self.dup_line_frac and dup / len(lines) > self.dup_line_frac:
            return "dup_line_frac"
        if self.dup_line_char_frac and dup_chars / len(text) > self.dup_line_char_frac:
            return "dup_line_char_frac"
        return None

    def _tail_loop(self, text: str, ids: list[int], cum: list[int], sep: int) -> bool:
        """A period-p unit repeated at the very end, found as the run of ids[i] == ids[i - p]."""
        if _tail_run(text.rstrip(), 32, self.tail_min_chars, max(self.tail_min_repeats, 4)):
            return True  # a short character loop: "!!!!!!...", "hahahaha...", "= = = ="
        n = len(ids)
        for p in range(1, min(self.tail_max_period, n // self.tail_min_repeats) + 1):
            run = _run_from_end(ids, p)
            covered = run + p  # units in the looping tail, first occurrence included
            if covered < self.tail_min_repeats * p:
                continue
            if cum[n] - cum[n - covered] + sep * covered >= self.tail_min_chars:
                return True
        return False


def _duplicates(elements: list[str]) -> tuple[int, int]:
    """Gopher's find_duplicates: repeated elements and their characters, after the first occurrence."""
    seen = set()
    dup = dup_chars = 0
    for element in elements:
        h = xxhash.xxh3_64_intdigest(element.encode("utf-8", "surrogatepass"))
        if h in seen:
            dup += 1
            dup_chars += len(element)
        else:
            seen.add(h)
    return dup, dup_chars


def _intern(units: list[str]) -> tuple[list[int], list[int], list[int]]:
    """Small ints instead of strings, so n-grams are cheap tuples of ints.

    Returns the ids, the length of each unit, and the length of each id."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(u, len(vocab)) for u in units]
    length_of = [len(u) for u in vocab]
    return ids, [length_of[i] for i in ids], length_of


def _ngrams(ids: list[int], n: int):
    return zip(*(ids[i:] for i in range(n)), strict=False)  # shorter slices end it


def _top_n_gram(ids, length_of, text_len, orders, sep: int) -> str | None:
    """Characters of the most frequent n-gram (joined with `sep` spaces) times its count; ties go to
    the n-gram seen first, as with Gopher's Counter."""
    for n, frac in orders:
        if len(ids) < n:
            continue
        (gram, count), *_ = Counter(_ngrams(ids, n)).most_common(1)
        chars = sum(length_of[i] for i in gram) + sep * (n - 1)
        if chars * count / text_len > frac:
            return f"top_{n}_gram"
    return None


def _dup_n_gram(ids, cum, text_len, orders) -> str | None:
    """Gopher's find_all_duplicate: greedy scan, a repeated n-gram's characters count once per
    repeat and the scan jumps past it."""
    for n, frac in orders:  # ascending n: no repeated n-gram means no repeated longer one either
        grams = list(_ngrams(ids, n))
        if len(set(grams)) == len(grams):
            return None
        seen = set()
        repeated = i = 0
        while i < len(grams):
            gram = grams[i]
            if gram in seen:
                repeated += cum[i + n] - cum[i]
                i += n
            else:
                seen.add(gram)
                i += 1
        if repeated / text_len > frac:
            return f"duplicated_{n}_n_grams"
    return None


def _run_from_end(seq, p: int) -> int:
    """How many trailing positions i satisfy seq[i] == seq[i - p]."""
    n = len(seq)
    run = 0
    while run < n - p and seq[n - 1 - run] == seq[n - 1 - run - p]:
        run += 1
    return run


def _tail_run(text: str, max_period: int, min_chars: int, min_repeats: int) -> bool:
    tail = text[-4 * min_chars :]
    for p in range(1, min(max_period, len(tail) // min_repeats) + 1):
        covered = _run_from_end(tail, p) + p
        if covered >= min_chars and covered >= min_repeats * p:
            return True
    return False
