"""PromptBuilder and the template files under prompts/."""

import shutil
from collections import Counter

import pytest

from cosmo_blocks import keys
from cosmo_blocks.prompts import PromptBuilder, TemplateError, load_catalog
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from tests.conftest import REPO, run_cli, run_steps, stats_of


def build(seeds, **kwargs):
    builder = PromptBuilder(**kwargs)
    return run_steps([SeedReader(str(seeds)), TopicExtractor(), builder]), builder


def test_every_format_has_english_and_the_seed_languages_have_korean():
    catalog = load_catalog()
    formats = set(catalog.formats)
    assert formats == {"textbook", "blog_post", "story", "wikihow", "forum_qa"}
    shares = {name: spec["share"] for name, spec in catalog.formats.items()}
    assert shares == {"textbook": 0.35, "blog_post": 0.25, "story": 0.20, "wikihow": 0.10, "forum_qa": 0.10}
    for language in ("en", "ko"):
        for format_ in formats:
            assert catalog.template(format_, language).text.strip()
    assert set(catalog.formats["story"]["audiences"]) == {"children", "teenagers", "adults"}


def test_same_seeds_same_prompts_and_ids(sample_seeds):
    first, _ = build(sample_seeds, variants=2)
    second, _ = build(sample_seeds, variants=2)
    assert [(d.id, d.metadata[keys.PROMPT]) for d in first] == [
        (d.id, d.metadata[keys.PROMPT]) for d in second
    ]
    assert len({d.id for d in first}) == 60


def test_metadata_and_instruction_before_extract(sample_seeds):
    docs, builder = build(sample_seeds)
    for doc in docs:
        meta = doc.metadata
        assert meta[keys.FORMAT] in builder.mix and meta[keys.LANGUAGE] == "en"
        assert meta[keys.AUDIENCE] in builder.catalog.formats[meta[keys.FORMAT]]["audiences"]
        assert meta[keys.TOPIC] and keys.CONTEXT not in meta
        prompt = meta[keys.PROMPT]
        assert "{" not in prompt or "$" in prompt  # no unrendered field (math seeds keep LaTeX braces)
        # the fixed instruction comes first so vLLM's prefix cache can share it across prompts
        assert prompt.index(meta[keys.TOPIC]) > 40
    stats = stats_of(builder)
    assert stats["prompts"] == 30
    assert sum(v for k, v in stats.items() if k.startswith("format_")) == 30


def test_mix_shares_are_followed_on_many_seeds(tmp_path):
    from tests.conftest import write_jsonl

    seeds = write_jsonl(tmp_path / "s.jsonl", [{"id": f"x{i}", "text": f"Seed {i}."} for i in range(4000)])
    docs, _ = build(seeds)
    counts = Counter(d.metadata[keys.FORMAT] for d in docs)
    for name, share in {
        "textbook": 0.35,
        "blog_post": 0.25,
        "story": 0.2,
        "wikihow": 0.1,
        "forum_qa": 0.1,
    }.items():
        assert abs(counts[name] / 4000 - share) < 0.03, counts
    clause = sum("within the context of" in d.metadata[keys.PROMPT] for d in docs) / 4000
    assert 0.45 < clause < 0.55


def test_variants_are_distinct(sample_seeds):
    docs, _ = build(sample_seeds, variants=3)
    by_seed = {}
    for d in docs:
        by_seed.setdefault(d.metadata[keys.SEED_ID], set()).add(
            (d.metadata[keys.FORMAT], d.metadata[keys.AUDIENCE])
        )
    assert all(len(combos) == 3 for combos in by_seed.values())


def test_restricting_mix_and_audience(sample_seeds):
    docs, _ = build(sample_seeds, mix={"story": 1}, audiences=["teenagers"], language="ko")
    assert {(d.metadata[keys.FORMAT], d.metadata[keys.AUDIENCE]) for d in docs} == {("story", "teenagers")}
    assert "청소년" in docs[0].metadata[keys.PROMPT]


def test_unknown_format_or_audience_fails_fast():
    with pytest.raises(TemplateError, match="unknown format.*'textbok'"):
        PromptBuilder(mix={"textbok": 1})
    with pytest.raises(TemplateError, match="unknown audience.*'toddlers'"):
        PromptBuilder(audiences=["toddlers"])
    with pytest.raises(TemplateError, match="no template for format '.*' in language 'fr'"):
        PromptBuilder(language="fr")


def test_template_naming_a_missing_field_fails_with_its_name(tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    (templates / "en" / "wikihow.txt").write_text("Write a guide about {topic} for {reader_age}.\n")
    with pytest.raises(TemplateError) as err:
        PromptBuilder(templates_dir=templates)
    assert "wikihow.txt" in str(err.value) and "{reader_age}" in str(err.value)


def test_a_user_adds_a_format_by_adding_a_file(tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    (templates / "en" / "lecture.txt").write_text(
        "Write lecture notes for {audience} on {topic}:\n{context}\n"
    )
    with open(templates / "manifest.toml", "a") as f:
        f.write('\n[formats.lecture]\nshare = 0.0\naudiences = ["college"]\n')
    builder = PromptBuilder(templates_dir=templates, mix={"lecture": 1})
    assert builder.mix == {"lecture": 1.0}


def test_prompts_render_command(sample_seeds):
    result = run_cli(
        "-m",
        "cosmo_blocks.cli",
        "prompts",
        "render",
        "--seeds",
        str(sample_seeds),
        "-n",
        "3",
        "--format",
        "wikihow",
        "--language",
        "ko",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("=== ") == 3
    assert result.stdout.count("format=wikihow") == 3 and "안내서" in result.stdout
