"""Drop generations that are too short to be useful training text."""

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.filters.scripts import is_cjk


class LengthFilter(BaseFilter):
    """Drop documents under `min_chars` characters (the seed's 500) or under `min_tokens` tokens
    (Cosmopedia's 150).

    Korean, Chinese and Japanese carry about twice the content per character, so they are held to
    `cjk_min_chars` (250) instead (metadata `language`, else the script decides).

    Tokens are read from metadata `token_length`, which generation writes. When it is missing the
    token check is skipped unless `estimate_tokens` is set, in which case characters / 4 stands in
    (a rough ratio for English BPE vocabularies; set it off for other scripts). Either limit may be
    None to turn that check off.
    """

    name = "📏 Length"

    def __init__(
        self,
        min_chars: int | None = 500,
        min_tokens: int | None = 150,
        cjk_min_chars: int | None = 250,
        estimate_tokens: bool = False,
        chars_per_token: float = 4.0,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.min_chars = min_chars
        self.min_tokens = min_tokens
        self.cjk_min_chars = cjk_min_chars
        self.estimate_tokens = estimate_tokens
        self.chars_per_token = chars_per_token

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text.strip()
        if not text:
            return False, "empty"
        min_chars = self.cjk_min_chars if is_cjk(text, doc.metadata.get(keys.LANGUAGE)) else self.min_chars
        if min_chars is not None and len(text) < min_chars:
            return False, "too_short_chars"
        if self.min_tokens is not None:
            tokens = self._tokens(doc, text)
            if tokens is not None and tokens < self.min_tokens:
                return False, "too_short_tokens"
        return True

    def _tokens(self, doc: Document, text: str) -> float | None:
        tokens = doc.metadata.get(keys.TOKEN_LENGTH)
        if isinstance(tokens, (int, float)) and not isinstance(tokens, bool):
            return tokens
        if self.estimate_tokens:
            return len(text) / self.chars_per_token
        return None
