import random

import pytest
from datatrove.data import Document
from datatrove.pipeline.filters.gopher_repetition_filter import (
    find_all_duplicate,
    find_top_duplicate,
    get_n_grams,
)

from cosmo_blocks.filters import RepetitionFilter
from cosmo_blocks.filters.repetition import _WORDS, _dup_n_gram, _intern, _top_n_gram

SENTENCES = [
    "The river carried the boat past the old mill and under the stone bridge.",
    "Farmers in the valley planted barley in spring and harvested it in late summer.",
    "A small museum in the town keeps tools, letters and photographs from that time.",
    "Children still learn the songs their grandparents sang while working in the fields.",
    "Each autumn the market fills with apples, pears, walnuts and fresh cider.",
    "The railway arrived in 1882 and changed how goods and people moved.",
]


def prose(n: int = 12, seed: int = 0) -> str:
    rng = random.Random(seed)
    words = " ".join(SENTENCES).replace(".", "").replace(",", "").split()
    paragraphs = []
    for _ in range(n):
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(10, 20)))
        paragraphs.append(sentence.capitalize() + ".")
    return "\n\n".join(paragraphs)


@pytest.mark.parametrize("seed", range(20))
def test_n_gram_measures_match_gopher_definitions(seed):
    """Same token list in, same numbers out as datatrove's Gopher helpers."""
    rng = random.Random(seed)
    words = rng.choices(["a", "bb", "ccc", "dd", "e", "fff", "g"], k=rng.randint(20, 300))
    ids, _, length_of = _intern(words)
    cum = [0]
    for w in words:
        cum.append(cum[-1] + len(w))
    text_len = 10**6  # fractions scaled so thresholds map to absolute character counts
    for n in (2, 3, 4):
        top = find_top_duplicate(get_n_grams(words, n))
        assert _top_n_gram(ids, length_of, text_len, ((n, (top - 0.5) / text_len),), 1) == f"top_{n}_gram"
        assert _top_n_gram(ids, length_of, text_len, ((n, (top + 0.5) / text_len),), 1) is None
    for n in (5, 7, 10):
        dup = find_all_duplicate(words, n)
        if dup:
            assert (
                _dup_n_gram(ids, cum, text_len, ((n, (dup - 0.5) / text_len),)) == f"duplicated_{n}_n_grams"
            )
        assert _dup_n_gram(ids, cum, text_len, ((n, (dup + 0.5) / text_len),)) is None


def test_clean_prose_passes():
    assert (
        RepetitionFilter().filter(Document(text=" ".join(SENTENCES) * 1 + "\n\n" + prose(), id="a")) is True
    )


def test_duplicated_paragraphs_and_lines():
    f = RepetitionFilter()
    para = "This paragraph keeps coming back again and again in the text."
    text = "\n\n".join([para] * 4 + SENTENCES[:3])
    assert f.filter(Document(text=text, id="p")) == (False, "dup_para_frac")
    lines = "\n".join(["Same line here."] * 5 + SENTENCES)  # 4 of 11 lines repeat, few characters
    assert f.filter(Document(text=lines, id="l")) == (False, "dup_line_frac")
    long_line = " ".join(SENTENCES[:3])  # 1 of 5 lines repeats, a third of the characters
    lines = "\n".join([long_line, *SENTENCES[3:], long_line])
    assert f.filter(Document(text=lines, id="c")) == (False, "dup_line_char_frac")


@pytest.mark.parametrize(
    "tail",
    [
        " and so on, and so on, and so on, and so on, and so on, and so on, and so on, and so on, and so on",
        " Wow" + "!" * 110,
        " " + "ha" * 60,
        " The end of the chapter. The end of the chapter. The end of the chapter. The end of the chapter.",
    ],
)
def test_tail_loops(tail):
    text = "\n\n".join(SENTENCES) + "\n\n" + prose(4) + tail
    assert RepetitionFilter().filter(Document(text=text, id="t")) == (False, "tail_loop")
    # too short a share of the text for the Gopher fractions (except a flood of "!" tokens)
    if "!!" not in tail:
        assert RepetitionFilter(tail_loop=False).filter(Document(text=text, id="t")) is True


def test_short_repeats_at_the_end_are_fine():
    for tail in (" Very, very, very good.", " Ha ha ha!", " ...", " — — —", " Row, row, row your boat."):
        text = "\n\n".join(SENTENCES) + tail
        assert RepetitionFilter().filter(Document(text=text, id="s")) is True, tail


def test_korean_is_measured_in_characters():
    korean = (
        "지구의 대기는 여러 층으로 이루어져 있습니다. 우리가 숨 쉬는 가장 아래층을 대류권이라고 합니다. "
        "성층권에는 자외선을 막아 주는 오존층이 있습니다. 중간권은 대기에서 가장 추운 곳입니다. "
        "열권에서는 극지방의 오로라가 나타납니다. 각 층은 서로 다른 특징을 가지고 있습니다."
    )
    f = RepetitionFilter()
    assert f.filter(Document(text=korean, id="k", metadata={"language": "ko"})) is True
    assert f.filter(Document(text=korean, id="k2")) is True  # detected from the script
    looping = korean + " 정말 중요합니다." * 15
    assert f.filter(Document(text=looping, id="k3")) == (False, "tail_loop")
    # no spaces at all (Chinese-style): whitespace words would see one giant token
    chinese = "水是生命之源。" * 3 + "我们每天都需要喝水。植物也需要水才能生长。河流把水带到大海。" * 1
    assert _WORDS.findall(chinese)[0] == "水是生命之源"
    zh = Document(text=chinese * 4, id="z", metadata={"language": "zh"})
    assert f.filter(zh) == (False, "tail_loop")
    # a 4-gram is an order only characters have (words start at 2)
    assert RepetitionFilter(tail_loop=False).filter(zh) == (False, "top_4_gram")


def test_empty_and_thresholds_can_be_switched_off():
    assert RepetitionFilter().filter(Document(text="  \n ", id="e")) == (False, "empty")
    para = "This paragraph keeps coming back."
    text = "\n\n".join([para] * 6)
    off = RepetitionFilter(
        dup_line_frac=None,
        dup_para_frac=None,
        dup_line_char_frac=None,
        dup_para_char_frac=None,
        top_n_grams=(),
        dup_n_grams=(),
        tail_loop=False,
    )
    assert off.filter(Document(text=text, id="o")) is True
