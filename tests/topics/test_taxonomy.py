"""TaxonomyReader on real taxonomy files, and SubtopicExpander with the real SmolLM2 engine."""

from collections import Counter

import pytest

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.resources import bundled_dir
from cosmo_blocks.topics.taxonomy import SubtopicExpander, TaxonomyReader, parse_taxonomy, topic_document
from tests.conftest import ENGINE_KWARGS, run_steps, stats_of

SHIPPED = bundled_dir("pipelines") / "topics" / "taxonomy.txt"
TAXONOMY = """\
# a comment
Computing > Networking > Berkeley sockets

Computing > Networking > DNS resolution
Computing > Operating Systems > Signals
this line has no levels
Computing > > Empty subcategory
Computing > Networking > berkeley  SOCKETS
Science > Biology > Cells > too deep
Science > Biology > Cell structure
"""


def read(path, rank: int = 0, world_size: int = 1):
    reader = TaxonomyReader(path)
    return run_steps([reader], rank, world_size), stats_of(reader)


def test_the_shipped_taxonomy_is_well_formed():
    topics, malformed, repeated = parse_taxonomy(SHIPPED.read_text().splitlines())
    assert malformed == [] and repeated == []
    categories = Counter(c for c, _, _ in topics)
    subcategories = Counter((c, s) for c, s, _ in topics)
    assert 10 <= len(categories) <= 12
    assert all(n == 3 for n in Counter(c for c, _ in subcategories).values())
    assert all(2 <= n <= 4 for n in subcategories.values())


def test_one_document_per_subtopic_with_its_path(tmp_path, log_lines):
    path = tmp_path / "taxonomy.txt"
    path.write_text(TAXONOMY)
    docs, stats = read(path)

    assert [d.metadata[keys.SUBTOPIC] for d in docs] == [
        "Berkeley sockets",
        "DNS resolution",
        "Signals",
        "Cell structure",
    ]
    first = docs[0]
    assert first.metadata[keys.CATEGORY] == "Computing" and first.metadata[keys.SUBCATEGORY] == "Networking"
    assert first.metadata[keys.TOPIC] == first.text == "Computing > Networking > Berkeley sockets"
    assert stats == {"skipped_malformed": 3, "skipped_repeated": 1, "topics": 4}
    assert any("malformed" in line and "lines 6, 7, 9" in line for line in log_lines)
    assert any("repeated" in line and "lines 8" in line for line in log_lines)


def test_ids_come_from_the_path_not_the_line(tmp_path):
    one, other = tmp_path / "one.txt", tmp_path / "other.txt"
    one.write_text(TAXONOMY)
    other.write_text("Extra > Lines > First\n\n" + TAXONOMY)
    ids = {d.text: d.id for d in read(one)[0]}
    assert ids == {d.text: d.id for d in read(other)[0] if d.text in ids}
    assert len(set(ids.values())) == len(ids)
    # "C++" and "C" slug alike; the hash of the exact path keeps them apart
    assert topic_document("Code", "Languages", "C++").id != topic_document("Code", "Languages", "C").id


def test_topics_are_dealt_round_robin_across_tasks():
    everything = [d.id for d in read(SHIPPED)[0]]
    shares = [[d.id for d in read(SHIPPED, rank, 4)[0]] for rank in range(4)]
    assert sorted(sum(shares, [])) == sorted(everything)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert shares[1][0] == everything[1]


def test_a_file_without_a_valid_line_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("# only comments\nno levels here\nA > B\n")
    with pytest.raises(ConfigError, match="no valid line"):
        TaxonomyReader(bad)
    with pytest.raises(ConfigError, match="no taxonomy file"):
        TaxonomyReader(tmp_path / "missing.txt")


def smollm2(max_tokens: int = 160) -> VLLMGenerator:
    return VLLMGenerator(
        model="smollm2-135m",
        sampling={"preset": "small", "max_tokens": max_tokens},
        engine_kwargs=ENGINE_KWARGS,
        seed=0,
    )


def test_expansion_keeps_only_new_distinct_subtopics():
    """`apply` on hand-written answers: no engine starts (VLLMGenerator creates it lazily in run)."""
    expander = SubtopicExpander(smollm2(), n=5)
    assert expander.keep_unanswered  # a failed expansion keeps its topic
    sockets = topic_document("Computing", "Networking", "Berkeley sockets")
    dns = topic_document("Computing", "Networking", "DNS resolution")
    answer = {"subtopics": ["TCP handshakes", "tcp  handshakes.", "berkeley sockets", "Networking", " - "]}
    out = list(expander.apply(sockets, answer))
    assert out[0] is sockets
    assert [d.metadata[keys.SUBTOPIC] for d in out[1:]] == ["TCP handshakes"]
    assert out[1].id == topic_document("Computing", "Networking", "TCP handshakes").id
    again = list(expander.apply(dns, {"subtopics": ["TCP Handshakes", "Routing", "Berkeley Sockets"]}))
    assert [d.metadata[keys.SUBTOPIC] for d in again[1:]] == ["Routing"]
    assert stats_of(expander) == {
        "subtopics_proposed": 8,
        "subtopics_new": 2,
        "dropped_duplicate": 2,
        "dropped_same_as_existing": 3,
        "dropped_empty": 1,
    }


def test_smollm2_proposes_n_subtopics_for_every_topic():
    """The real SmolLM2-135M with structured outputs: every topic is answered with exactly N
    subtopics, and what comes out is the originals plus new, distinct subtopics under them."""
    n = 3
    topics = run_steps([TaxonomyReader(SHIPPED)], 0, 16)  # 6 topics of different categories
    expander = SubtopicExpander(smollm2(), n=n)
    out = run_steps([lambda data, rank, ws: iter(topics), expander])

    stats = stats_of(expander)
    assert stats["answered"] == stats["asked"] == len(topics)
    assert stats["subtopics_proposed"] == n * len(topics)
    assert stats["subtopics_new"] >= len(topics)
    assert {d.id for d in topics} <= {d.id for d in out}
    new = [d for d in out if d.id not in {t.id for t in topics}]
    assert len(new) == stats["subtopics_new"]
    paths = [
        tuple(d.metadata[k].lower() for k in (keys.CATEGORY, keys.SUBCATEGORY, keys.SUBTOPIC)) for d in out
    ]
    assert len(set(paths)) == len(paths)
    parents = {(t.metadata[keys.CATEGORY], t.metadata[keys.SUBCATEGORY]) for t in topics}
    assert all((d.metadata[keys.CATEGORY], d.metadata[keys.SUBCATEGORY]) in parents for d in new)
