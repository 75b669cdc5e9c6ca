"""Drop generations not written in the language they were asked for, or strewn with foreign scripts."""

import re

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.filters.markdown import prose

_LETTER = re.compile(r"[^\W\d_]")
SCRIPTS = {
    "latin": re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff]"),
    "hangul": re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]"),
    "kana": re.compile(r"[\u3040-\u30ff]"),
    "han": re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"),
    "cyrillic": re.compile(r"[\u0400-\u04ff]"),
    "greek": re.compile(r"[\u0370-\u03ff]"),
    "arabic": re.compile(r"[\u0600-\u06ff]"),
    "hebrew": re.compile(r"[\u0590-\u05ff]"),
    "thai": re.compile(r"[\u0e00-\u0e7f]"),
    "devanagari": re.compile(r"[\u0900-\u097f]"),
}
# the scripts a language is written in; Latin (names, terms, code) and Greek (math) are welcome in any
LANGUAGE_SCRIPTS = {
    "ko": ("hangul", "han"),
    "ja": ("kana", "han"),
    "zh": ("han",),
    "ru": ("cyrillic",),
    "uk": ("cyrillic",),
    "ar": ("arabic",),
    "he": ("hebrew",),
    "th": ("thai",),
    "hi": ("devanagari",),
    "el": ("greek",),
} | {
    lang: ("latin",)
    for lang in [
        "en",
        "fr",
        "de",
        "es",
        "it",
        "pt",
        "nl",
        "sv",
        "da",
        "no",
        "fi",
        "pl",
        "cs",
        "tr",
        "id",
        "vi",
        "ro",
        "hu",
    ]
}
ANYWHERE = ("latin", "greek")


class LanguageFilter(BaseFilter):
    """Check the text's letters against the scripts of its metadata `language`.

    - `wrong_language`: under `min_share` of the letters are in the language's own script (a Korean
      prompt answered in English; a small model writes English whatever it is asked);
    - `mixed_scripts`: over `max_foreign_share` of the letters belong to scripts that are neither the
      language's nor Latin/Greek: Hebrew, Cyrillic, Thai or kana strewn through English or Korean
      text, which a degenerating small model emits; a few quoted foreign words stay under it.

    A language this filter does not know passes unchecked (counted `unchecked_language`). Either
    threshold may be None to turn its check off.
    """

    name = "🔤 Language"

    def __init__(
        self,
        min_share: float | None = 0.5,
        max_foreign_share: float | None = 0.005,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.min_share = min_share
        self.max_foreign_share = max_foreign_share

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language = str(doc.metadata.get(keys.LANGUAGE) or "").split("-")[0].split("_")[0].lower()
        own = LANGUAGE_SCRIPTS.get(language)
        if own is None:
            self.stat_update("unchecked_language")
            return True
        text = prose(doc.text)  # code, URLs and formulas are in Latin letters whatever the language
        letters = len(_LETTER.findall(text))
        if not letters:
            return True
        counts = {name: len(pattern.findall(text)) for name, pattern in SCRIPTS.items()}
        if self.min_share is not None and sum(counts[s] for s in own) < self.min_share * letters:
            return False, "wrong_language"
        foreign = sum(n for s, n in counts.items() if s not in own and s not in ANYWHERE)
        if self.max_foreign_share is not None and foreign > self.max_foreign_share * letters:
            return False, "mixed_scripts"
        return True
