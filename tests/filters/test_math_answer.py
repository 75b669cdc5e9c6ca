"""MathAnswerFilter on hand-written solutions and on 300 real SmolLM2 generations.

No real math-solution generations exist yet, so tests/filters/data/domains/math_*.txt are written by
hand: a JSON line (metadata, `expect`: the drop reason or null), `---`, then the solution.
"""

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.math_answer import MathAnswerFilter, final_answer, parse_math

DOMAINS = Path(__file__).parent / "data" / "domains"
SMOLLM2 = Path(__file__).parent / "data" / "smollm2" / "labelled.jsonl"

# Real generations whose arithmetic is wrong, read by hand: each one's last equation is false.
# The labellers dropped all three for other reasons (off topic, incoherent, repetition).
WRONG_ARITHMETIC = {
    "cosmopedia-rp1.2/ko-sample.jsonl@14935/0": "10/24 + 5 = 9",
    "rp1.1/sample.jsonl@5671/0": "2*2^3 = 4*10 = 4*2*10 = 4*102 = 16*2 = ...",
    "rp1.0/sample.jsonl@6224/1": "c = 10 + 10 = 10",
}


def hand_written(prefix: str) -> list[tuple[str, Document, str | None]]:
    out = []
    for path in sorted(DOMAINS.glob(f"{prefix}_*.txt")):
        header, _, text = path.read_text(encoding="utf-8").partition("\n---\n")
        meta = json.loads(header)
        expect = meta.pop("expect")
        out.append((path.stem, Document(text=text, id=path.stem, metadata=meta), expect))
    return out


def smollm2() -> list[Document]:
    rows = [json.loads(line) for line in SMOLLM2.read_text(encoding="utf-8").splitlines()]
    return [Document(text=r["text"], id=r["id"], metadata=r["metadata"]) for r in rows]


def verdict(result) -> str | None:
    return None if result is True else result[1]


@pytest.mark.parametrize(
    "name,doc,expect", hand_written("math"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hand_written_solutions(name, doc, expect):
    assert verdict(MathAnswerFilter().filter(doc)) == expect


def test_final_answer_conventions():
    assert final_answer("So $\\boxed{\\frac{1}{2}}$ is it. The answer is 3.")[0] == "\\frac{1}{2}"
    assert final_answer("Work.\n\n**Final Answer:** 42 apples.\n")[0] == "42 apples"
    assert final_answer("Answer:\n\n3.5.")[0] == "3.5"
    assert final_answer("따라서 답은 84입니다.")[0] == "84입니다"
    assert final_answer("We add them.\nTotal = 15 + 27 = 42")[0] == "42"
    assert final_answer("No statement here.") is None
    assert final_answer("그의 대답은 간단했다.") is None  # 대답 (a reply) is no 답 (an answer)


@pytest.mark.parametrize(
    "text,value",
    [
        ("\\frac{3}{4}", "3/4"),
        ("\\dfrac{1}{2}", "1/2"),
        ("2\\sqrt{3}", "2*sqrt(3)"),
        ("\\sqrt[3]{8}", "2"),
        ("25\\%", "1/4"),
        ("1,200", "1200"),
        ("$84$ apples", "84"),
        ("x = 5", "5"),
        ("\\frac{\\pi}{2}", "pi/2"),
        ("-\\frac{1}{2}", "-1/2"),
        ("3 \\times 10^{8}", "300000000"),
    ],
)
def test_parse_subset(text, value):
    import sympy

    assert sympy.simplify(parse_math(text) - sympy.sympify(value)) == 0


@pytest.mark.parametrize(
    "text",
    [
        "9^9^9^9",
        "2^100000",
        "2^(99999*99999)",
        "(999^999)^999",
        "1e999999",
        "__import__('os').system('true')",
        "lambda: 1",
        "x.__class__",
        "1" * 40,
        "all reals",
    ],
)
def test_unsafe_or_unreadable_answers_are_not_evaluated(text):
    assert parse_math(text) is None


def test_unparseable_answers_are_kept_and_counted():
    f = MathAnswerFilter()
    for text in (
        "The answer is 9^9^9^9.",
        "The answer is __import__('os').system('true').",
        "The answer is {[}.",
    ):
        assert (
            f.filter(Document(text=text, id="u", metadata={"format": "math_solution", "answer": "3"})) is True
        )
    assert f.stats["answer_unchecked"].total == 3


def test_a_timed_out_comparison_is_unchecked_not_a_drop():
    doc = next(d for name, d, _ in hand_written("math") if name == "math_derivative_mismatch")
    f = MathAnswerFilter(timeout=1e-6)
    assert f.filter(doc) is True
    assert f.stats["answer_unchecked"].total == 1


def test_no_answer_can_be_kept():
    doc = next(d for name, d, _ in hand_written("math") if name == "math_no_answer")
    assert MathAnswerFilter(require_answer=False).filter(doc) is True


def test_other_formats_pass_untouched():
    f = MathAnswerFilter()
    docs = smollm2()
    assert all(f.filter(doc) is True for doc in docs)
    assert f.stats["other_format"].total == len(docs) == 300


def test_real_generations_drop_only_wrong_arithmetic():
    """Checked as if every one were a math solution: only the three whose arithmetic is really
    wrong are dropped; the others' equations hold or cannot be read as arithmetic."""
    f = MathAnswerFilter(formats=None, require_answer=False)
    dropped = {doc.id: verdict(f.filter(doc)) for doc in smollm2()}
    dropped = {i: reason for i, reason in dropped.items() if reason}
    assert dropped == dict.fromkeys(WRONG_ARITHMETIC, "arithmetic_mismatch")


@pytest.mark.parametrize("kwargs", [{"formats": []}, {"formats": "math_solution"}, {"timeout": 0}])
def test_bad_configuration_fails_fast(kwargs):
    with pytest.raises(ConfigError):
        MathAnswerFilter(**kwargs)
