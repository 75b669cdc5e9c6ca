from datatrove.data import Document

from cosmo_blocks.filters import LengthFilter


def test_characters_tokens_and_cjk():
    f = LengthFilter()
    assert f.filter(Document(text="x " * 300, id="a")) is True
    assert f.filter(Document(text="short", id="b")) == (False, "too_short_chars")
    assert f.filter(Document(text="", id="c")) == (False, "empty")
    long = "word " * 200
    assert f.filter(Document(text=long, id="d", metadata={"token_length": 149})) == (
        False,
        "too_short_tokens",
    )
    assert f.filter(Document(text=long, id="e", metadata={"token_length": 150})) is True
    korean = "가나다라마바사아자차. " * 30  # 330 characters: short for English, enough for Korean
    assert f.filter(Document(text=korean, id="f")) is True
    assert LengthFilter(cjk_min_chars=500).filter(Document(text=korean, id="g")) == (False, "too_short_chars")


def test_token_estimate_and_switches():
    text = "a" * 520
    assert LengthFilter().filter(Document(text=text, id="a")) is True  # no token_length: not checked
    assert LengthFilter(estimate_tokens=True).filter(Document(text=text, id="a")) == (
        False,
        "too_short_tokens",
    )
    assert LengthFilter(min_chars=None, min_tokens=None).filter(Document(text="hi", id="b")) is True
