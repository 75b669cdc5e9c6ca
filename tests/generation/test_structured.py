"""StructuredAnnotator on the real engine: answers forced into a JSON schema, parsed, resumed."""

import orjson
import pytest
from datatrove.data import Document

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.generation.structured import StructuredAnnotator
from tests.conftest import ENGINE_KWARGS, stats_of

SCHEMA = {
    "type": "object",
    "properties": {
        "topic": {"type": "string", "minLength": 1, "maxLength": 60},
        "educational_score": {"type": "integer", "minimum": 1, "maximum": 10},
    },
    "required": ["topic", "educational_score"],
    "additionalProperties": False,
}
TEXTS = [
    "The mitochondrion is the organelle where cellular respiration makes ATP.",
    "Buy cheap watches now!!! Free shipping on all orders, limited offer.",
    "A prime number has exactly two divisors: one and itself.",
    "The socket() system call creates an endpoint for communication and returns a file descriptor.",
    "Photosynthesis turns light, water and carbon dioxide into glucose and oxygen.",
    "Our team won the game last night, what a match!",
]


class TopicRater(StructuredAnnotator):
    schema = SCHEMA

    def prompt(self, doc: Document) -> str:
        return (
            f"Text: {doc.text}\n\nName the topic of this text in a few words and rate its educational "
            "value from 1 to 10. Answer in JSON with the keys topic and educational_score."
        )


class Haiku(TopicRater):
    def prompt(self, doc: Document) -> str:
        return f"Write a short poem about this: {doc.text}"


def docs() -> list[Document]:
    return [Document(text=t, id=f"d{i}", metadata={"seed_id": f"d{i}"}) for i, t in enumerate(TEXTS)]


def generator(journal_dir) -> VLLMGenerator:
    return VLLMGenerator(
        model="smollm2-135m",
        sampling={"preset": "small", "max_tokens": 64},
        engine_kwargs=ENGINE_KWARGS,
        journal_dir=journal_dir,
        seed=0,
    )


def test_every_answer_parses_with_structured_outputs_and_resumes(tmp_path):
    rater = TopicRater(generator(tmp_path / "journal"))
    out = sorted(rater.run(docs()), key=lambda d: d.id)  # yielded as answers finish

    assert [d.id for d in out] == [f"d{i}" for i in range(len(TEXTS))]
    assert [d.text for d in out] == TEXTS  # the documents keep their text
    for doc in out:
        assert 1 <= doc.metadata["educational_score"] <= 10
        assert doc.metadata["topic"].strip()
    stats = stats_of(rater)
    assert stats["asked"] == stats["answered"] == stats["generated"] == len(TEXTS)
    assert "generated_tokens" in stats  # the generator's counts are this step's
    answers = [
        orjson.loads(line)["text"] for f in (tmp_path / "journal").rglob("*.jsonl") for line in f.open()
    ]
    assert len(answers) == len(TEXTS) and not any(c in a for a in answers for c in "\n\t\r")  # compact JSON

    again = TopicRater(generator(tmp_path / "journal"))
    rerun = sorted(again.run(docs()), key=lambda d: d.id)
    assert stats_of(again)["resumed_from_journal"] == len(TEXTS)
    assert [d.metadata for d in rerun] == [d.metadata for d in out]


def test_without_the_constraint_a_free_answer_is_a_counted_drop(tmp_path):
    dropped = Haiku(generator(None), structured=False)
    assert list(dropped.run(docs()[:2])) == []
    assert stats_of(dropped)["unparsed_invalid_json"] == 2


def test_a_bad_schema_fails_before_anything_runs():
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        TopicRater(generator(None), schema={"type": "no-such-type"})
    with pytest.raises(ConfigError, match="needs a generation block"):
        TopicRater("smollm2-135m")
