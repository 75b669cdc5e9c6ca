"""Korean end to end: Korean seeds -> Korean templates -> the real engine (tiny model) -> filters -> writer."""

import tomllib

import jinja2
import pytest

from cosmo_blocks.filters import quality_filters
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.resources import bundled_dir
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.writers import CosmopediaJsonlWriter
from tests.conftest import ENGINE_KWARGS, read_jsonl, run_steps, stats_of, write_jsonl

pytestmark = pytest.mark.engine

SEEDS = [
    {
        "id": "ko-water",
        "title": "물의 순환",
        "source": "wikipedia",
        "text": "물의 순환은 지구의 물이 증발, 응결, 강수를 거치며 끊임없이 움직이는 과정이다. "
        "태양 에너지가 바다의 물을 데우면 수증기가 하늘로 올라가 구름이 된다.",
    },
    {
        "id": "ko-kimchi",
        "title": "김치",
        "source": "generic",
        "text": "김치는 배추와 무 같은 채소를 소금에 절인 뒤 고춧가루, 마늘, 젓갈로 양념하여 발효시킨 "
        "한국의 전통 음식이다. 발효 과정에서 젖산균이 늘어나 새콤한 맛이 난다.",
    },
    {
        "id": "ko-hangul",
        "title": "한글",
        "source": "wikipedia",
        "text": "한글은 1443년 세종대왕이 창제한 문자로, 자음과 모음을 조합하여 음절을 만든다. "
        "배우기 쉬운 구조 덕분에 높은 문해율에 기여했다.",
    },
]


def expected_prompt_choices(format_: str, audience: str, seed: dict) -> set[str]:
    """The Korean template file rendered by Jinja2 with the seed's values, with and without the topic clause
    (the seed has no enrichment: the textbook's enrichment clause is left out)."""
    prompts = bundled_dir("prompts")
    manifest = tomllib.loads((prompts / "manifest.toml").read_text(encoding="utf-8"))
    text = (prompts / "ko" / f"{format_}.txt").read_text(encoding="utf-8")
    template = jinja2.Template(text, keep_trailing_newline=True)
    values = {
        "audience": manifest["audiences"]["ko"][audience],
        "topic": seed["title"],
        "context": seed["text"],
    }
    return {template.render(values, topic_clause=clause) for clause in (False, True)}


@pytest.fixture(scope="module")
def korean_run(tiny_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("korean")
    seeds = write_jsonl(root / "seeds" / "ko.jsonl", SEEDS)
    builder = PromptBuilder(language="ko", variants=2)
    generator = VLLMGenerator(
        tiny_model,
        sampling={"max_tokens": 96},
        engine_kwargs=ENGINE_KWARGS | {"gpu_memory_utilization": 0.1},
        seed=7,
        journal_dir=str(root / "j"),
    )
    steps = [
        SeedReader(str(seeds)),
        TopicExtractor(),
        builder,
        generator,
        *quality_filters(str(root / "rejects"), min_chars=60),
        CosmopediaJsonlWriter(str(root / "data")),
    ]
    run_steps(steps)
    kept = [r for p in sorted((root / "data").rglob("*.jsonl")) for r in read_jsonl(p)]
    rejected = [r for p in sorted((root / "rejects").rglob("*.jsonl")) for r in read_jsonl(p)]
    return kept, rejected, steps


def test_every_korean_prompt_is_generated_once_and_written(korean_run):
    kept, rejected, steps = korean_run
    records = kept + rejected
    assert sorted(r["id"] for r in records) == sorted(f"{s['id']}/{v}" for s in SEEDS for v in (0, 1))
    assert stats_of(steps[3])["generated"] == 6
    for record in records:
        assert record["text"] and record["finish_reason"] in {"stop", "length"}
        assert record["token_length"] > 0 and record["token_count"] == record["token_length"]


def test_records_carry_the_korean_prompt_and_their_seeds_fields(korean_run, tiny_model):
    kept, rejected, _ = korean_run
    seeds = {s["id"]: s for s in SEEDS}
    for record in kept + rejected:
        seed = seeds[record["seed_id"]]
        assert record["id"].split("/")[0] == seed["id"]
        assert record["language"] == "ko" and record["model"] == tiny_model
        assert record["topic"] == seed["title"] and record["seed_data"] == seed["source"]
        assert record["prompt"] in expected_prompt_choices(record["format"], record["audience"], seed)
        assert "작성하세요" in record["prompt"] or "답변" in record["prompt"]
    variants = {}
    for record in kept + rejected:
        variants.setdefault(record["seed_id"], set()).add((record["format"], record["audience"]))
    assert all(len(pairs) == 2 for pairs in variants.values())  # two different variants per seed
