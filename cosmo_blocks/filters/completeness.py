"""Drop generations that did not finish: cut at max_tokens, mid-sentence, inside a code block."""

import re
import unicodedata

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.filters.markdown import code_blocks

# Sentence-final marks across scripts: Latin, CJK full-width/ideographic, Arabic, Devanagari, Ethiopic...
_TERMINAL = set(".!?…‼⁇⁈⁉。．｡！？؟۔।॥።")
# What may follow the final mark: closing quotes/brackets, Markdown emphasis, math delimiters
_CLOSERS = set("\"'”’»›)]}」』】〕〉》）］｝*_`$")
# emoji, modifiers, variation selectors, joiners
_SYMBOLS = frozenset({"So", "Sk", "Mn", "Cf"})
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•‣◦]|\d{1,3}[.)]|[a-zA-Z][.)])\s+\S")
# A list item that stops on one of these was cut off, not finished
_DANGLING = re.compile(
    r"(?:[,;:(\[/&+=—–-]|\b(?:and|or|but|the|a|an|of|to|with|for|in|on|at|by|from|that|which|is|are)"
    r"|(?:및|그리고|또는|하지만|그래서))$",
    re.IGNORECASE,
)
DEFAULT_SUMMARY = re.compile(r"summar(?:y|ies|ize|ise|izing|ising)|요약|정리", re.IGNORECASE)


class CompletenessFilter(BaseFilter):
    """Keep only generations that finished.

    Reasons, checked in this order:
    - `finish_length`: metadata `finish_reason == "length"` (the model hit max_tokens).
    - `unclosed_code_fence`: the text ends inside a ``` / ~~~ block.
    - `mid_sentence`: the last line does not end like a sentence. Accepted endings: a sentence-final
      mark in any script (. ! ? … 。 ！ ？ ...; so Korean 다. / 요. too), optionally followed by
      closing quotes, brackets, emphasis or emoji; a closed code block or display formula ($$, \\]);
      a list item or table row not cut off on a comma or a dangling "and"/"the"; a short sign-off
      under a line ending in a comma ("Best,\\nSam").
    - `no_summary` (only with `require_summary=True`): a document whose metadata `format` starts with
      "textbook" has no summary in its second half ("summary", "in summary", "to summarize", "요약",
      "정리"... per `summary_pattern`), although the textbook prompts ask for one.
    """

    name = "🏁 Completeness"

    def __init__(
        self,
        require_summary: bool = False,
        summary_pattern: re.Pattern | str = DEFAULT_SUMMARY,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.require_summary = require_summary
        self.summary_pattern = (
            re.compile(summary_pattern) if isinstance(summary_pattern, str) else summary_pattern
        )

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text.rstrip()
        if not text:
            return False, "empty"
        if doc.metadata.get(keys.FINISH_REASON) == "length":
            return False, "finish_length"
        blocks = code_blocks(text)
        if blocks and not blocks[-1].closed:
            return False, "unclosed_code_fence"
        if not ends_complete(text, closed_block_at_end=bool(blocks) and _ends_with_fence(text)):
            return False, "mid_sentence"
        if self.require_summary and self._misses_summary(doc, text):
            return False, "no_summary"
        return True

    def _misses_summary(self, doc: Document, text: str) -> bool:
        fmt = str(doc.metadata.get(keys.FORMAT) or "").lower()
        return fmt.startswith("textbook") and not self.summary_pattern.search(text, len(text) // 2)


def _ends_with_fence(text: str) -> bool:
    last = text.rsplit("\n", 1)[-1].strip()
    return last.startswith("```") or last.startswith("~~~")


def ends_complete(text: str, closed_block_at_end: bool = False) -> bool:
    """Whether `text` (right-stripped) ends where a finished document could end."""
    if closed_block_at_end:
        return True
    lines = text.split("\n")
    last = lines[-1].strip()
    if _ends_sentence(last):
        return True
    if last.startswith("|") and last.endswith("|"):  # a Markdown table row
        return True
    if last.endswith("$$") or last.endswith("\\]"):  # a display formula closes it
        return True
    if _LIST_ITEM.match(last):
        return not _DANGLING.search(last)
    return _is_sign_off(lines)


def _ends_sentence(line: str) -> bool:
    end = len(line)
    # closing quotes/brackets/emphasis and trailing emoji may follow the sentence-final mark
    while end and (line[end - 1] in _CLOSERS or line[end - 1].isspace() or _is_symbol(line[end - 1])):
        end -= 1
    return end > 0 and line[end - 1] in _TERMINAL


def _is_symbol(char: str) -> bool:
    return unicodedata.category(char) in _SYMBOLS


def _is_sign_off(lines: list[str]) -> bool:
    """ "Best regards,\\nSam" / "감사합니다,\\n민수": a short name under a line ending in a comma."""
    content = [line.strip() for line in lines if line.strip()]
    if len(content) < 2:
        return False
    last, before = content[-1], content[-2]
    return before.endswith(",") and len(last) <= 30 and len(last.split()) <= 3
