from cosmo_blocks import keys
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.seeds.topics import cut_at_sentence, guess_topic
from tests.conftest import run_steps, stats_of, write_jsonl


def test_topic_prefers_title_then_heading_then_first_sentence(tmp_path):
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "a", "title": "Plate tectonics", "text": "# Other heading\nBody."},
            {"id": "b", "text": "## The derivative as a limit\n\nThe derivative of f is..."},
            {"id": "c", "text": "Bayes' theorem relates conditional probabilities. More text follows."},
        ],
    )
    docs = run_steps([SeedReader(str(path)), TopicExtractor()])
    assert [d.metadata[keys.TOPIC] for d in docs] == [
        "Plate tectonics",
        "The derivative as a limit",
        "Bayes' theorem relates conditional probabilities",
    ]
    assert "##" not in docs[1].metadata[keys.CONTEXT]


def test_context_is_cut_at_a_sentence_boundary(tmp_path):
    sentence = "Photosynthesis turns light into chemical energy. "
    long_text = sentence * 400  # ~20,000 characters, far longer than any context window we use
    path = write_jsonl(tmp_path / "s.jsonl", [{"id": "long", "text": long_text}])
    extractor = TopicExtractor(context_chars=1000)
    (doc,) = run_steps([SeedReader(str(path)), extractor])
    context = doc.metadata[keys.CONTEXT]
    assert 500 <= len(context) <= 1000
    assert context.endswith("energy.")
    assert stats_of(extractor)["context_truncated"] == 1


def test_korean_sentence_ends():
    text = "광합성은 빛 에너지를 화학 에너지로 바꿉니다. 식물은 엽록소를 사용합니다. " * 50
    cut = cut_at_sentence(text, 300)
    assert cut.endswith("니다.") and len(cut) <= 300
    assert guess_topic("한글은 세종대왕이 만들었다. 그 뒤로...") == "한글은 세종대왕이 만들었다"


def test_a_topic_chosen_by_discovery_stays():
    from datatrove.data import Document

    doc = Document(
        text="# A heading\nBody.", id="x", metadata={keys.TOPIC: "Unix processes", keys.TITLE: "fork(2)"}
    )
    (out,) = TopicExtractor().run([doc])
    assert out.metadata[keys.TOPIC] == "Unix processes"
