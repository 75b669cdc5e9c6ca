"""Which writing system a text uses, where a filter has to measure it differently."""

import re

# Hangul (jamo, compatibility jamo, syllables), kana, CJK ideographs
CJK_CHARS = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)
CJK_LANGS = frozenset({"ko", "zh", "ja", "kor", "zho", "jpn", "cmn"})


def is_cjk(text: str, language: object = None) -> bool:
    """Korean, Chinese or Japanese: by metadata `language` ("ko", "zh-Hans", "ja_JP"...) when given,
    else when CJK characters are over 30% of the letters in the first 2,000 characters."""
    if isinstance(language, str) and language:
        return re.split(r"[-_]", language)[0].lower() in CJK_LANGS
    sample = text[:2000]
    letters = sum(1 for c in sample if c.isalpha())
    return letters > 0 and len(CJK_CHARS.findall(sample)) > 0.3 * letters
