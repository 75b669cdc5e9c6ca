"""LanguageFilter on what SmolLM2-135M really wrote for Korean and English prompts."""

import copy

import pytest
from datatrove.data import Document

from cosmo_blocks.filters.language import LanguageFilter
from tests.filters.conftest import load_labelled

# SmolLM2-135M's tail for an English textbook prompt (repetition_penalty 1.2), verbatim
HEBREW_SOUP = (
    "The printing press changed how people shared ideas, and books became cheaper to make. "
    "*SYMBOLS*, ORGANIZING STRUCTURES—SUCCEAPTERS：■×⁶ ×²¯†¼¹³›·∑Ï€^₀＆‚¢╬Ƣ￥°♴|┍ポサー、佛なのに，愈生を停歳的々"
    "(no kanji needed)***-◉ˣｿ２ ▩５¬４¿™６½７¾️קרבות מאיפלהַיְדְנִמּשֶָׂצа היײי\u05edא אל Israel．"
)
# its whole answer to a Korean forum prompt
KOREAN_PROMPT_ENGLISH_ANSWER = (
    "A user's answer has been provided with no code in any language (Python). Please provide the "
    "answer in plain text and don't include any additional formatting unless asked."
)


def doc(text: str, language: str) -> Document:
    return Document(text=text, id="x", metadata={"language": language})


def test_a_korean_prompt_answered_in_english_is_the_wrong_language():
    assert LanguageFilter().filter(doc(KOREAN_PROMPT_ENGLISH_ANSWER, "ko")) == (False, "wrong_language")
    assert LanguageFilter().filter(doc(KOREAN_PROMPT_ENGLISH_ANSWER, "en")) is True


def test_code_in_a_korean_answer_is_not_counted_as_english():
    code = "```python\nfrom collections import Counter\nwords = 'the cat and the hat'.split()\n"
    code += "print(Counter(words).most_common(2))\n```\n"
    text = f"단어의 빈도를 세는 방법을 알아봅시다.\n\n{code}\n`Counter`는 각 단어가 몇 번 나오는지 셉니다."
    assert LanguageFilter().filter(doc(text, "ko")) is True
    assert LanguageFilter().filter(doc(code + "The same code, explained in English.", "ko")) == (
        False,
        "wrong_language",
    )


def test_foreign_scripts_strewn_through_english_are_mixed_scripts():
    assert LanguageFilter().filter(doc(HEBREW_SOUP, "en")) == (False, "mixed_scripts")
    assert LanguageFilter(max_foreign_share=None).filter(doc(HEBREW_SOUP, "en")) is True


def test_a_few_quoted_foreign_words_and_math_letters_are_fine():
    text = (
        "In Japanese the word for tsunami is 津波 (tsunami), literally a harbour wave. "
        + "The angle θ and the constant π appear in every formula of this chapter. " * 12
    )
    assert LanguageFilter().filter(doc(text, "en")) is True


@pytest.mark.parametrize("name,document", [(n, d) for n, d, exp in load_labelled() if not exp])
def test_every_hand_labelled_good_document_passes(name, document):
    """English and Korean, with code, lists and terms in other languages."""
    assert LanguageFilter().filter(copy.deepcopy(document)) is True, name


def test_unknown_languages_pass_counted():
    f = LanguageFilter()
    assert f.filter(doc("Habari ya asubuhi, rafiki yangu.", "sw")) is True
    assert f.stats.stats["unchecked_language"].total == 1
