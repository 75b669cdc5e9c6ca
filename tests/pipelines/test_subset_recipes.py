"""The bundled recipes, one per Cosmopedia subset and v2 domain: every seed of each bundled sample
becomes a prompt in English and in Korean, in the released vocabulary; `cosmo prompts render` shows
them; the two-stage stanford recipe runs on the real engine."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from cosmo_blocks.cli import main
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.prompts.templates import load_catalog
from cosmo_blocks.prompts.vocabulary import (
    OURS_AUDIENCES,
    OURS_FORMATS,
    OURS_SEED_DATA,
    RELEASED_AUDIENCES,
    RELEASED_FORMATS,
    RELEASED_SEED_DATA,
)
from cosmo_blocks.recipes import bundled_recipes, recipe_prompts, recipe_seeds
from cosmo_blocks.resources import find_pipeline
from cosmo_blocks.run import RunOptions, Stage, load_build
from tests.conftest import read_jsonl, run_cli, write_jsonl

RECIPES = bundled_recipes()
# what CourseOutliner writes for one course: the stanford units stage reads it
OUTLINE = {
    "id": "stanford-x",
    "text": "1. Foundations\n- What a signal is\n- Sampling\n\n2. Filters\n- Convolution\n- Frequency response",
    "metadata": {
        "title": "Signals and Systems",
        "course": "Signals and Systems",
        "chapters": [
            {"title": "Foundations", "units": ["What a signal is", "Sampling"]},
            {"title": "Filters", "units": ["Convolution", "Frequency response", "Filter design"]},
        ],
    },
}


def prompt_stages(recipe: str, output: Path, language: str) -> list[tuple[str, list]]:
    """(stage, its prompts) for each stage of the recipe that builds prompts, no engine run."""
    opts = RunOptions(output=str(output), params=(f"language={language}",))
    built = load_build(find_pipeline(recipe))(opts)
    stages = built if isinstance(built[0], Stage) else [Stage("main", built)]
    found = []
    for stage in stages:
        cut = [i for i, step in enumerate(stage.steps) if isinstance(step, PromptBuilder)]
        if cut:
            data = None
            for step in stage.steps[: cut[0] + 1]:
                data = step(data)
            found.append((stage.name, list(data), stage.steps[cut[0]]))
    return found


def sample_size(recipe: str) -> int:
    """Seeds in the recipe's sample; a course counts once per unit."""
    records = read_jsonl(Path(recipe_seeds(recipe)))
    return sum(units(r) for r in records) if "chapters" in records[0] else len(records)


def units(course: dict) -> int:
    count = 0
    for chapter in course["chapters"]:
        for part in chapter.get("sections") or [chapter]:
            count += len(part["units"])
    return count


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("recipe", RECIPES)
def test_every_seed_of_the_sample_gets_a_prompt(recipe, language, tmp_path):
    write_jsonl(tmp_path / "outlines" / "00000.jsonl", [OUTLINE])  # for stanford's units stage
    stages = prompt_stages(recipe, tmp_path, language)
    assert stages
    for stage, prompts, builder in stages:
        stats = builder.stats.stats
        assert not [k for k in stats if k.startswith("skipped_")], (stage, dict(stats))
        expected = 5 if stage == "units" else sample_size(recipe)
        assert len(prompts) == expected >= (5 if stage == "units" else 24), stage
        catalog = load_catalog(recipe_prompts(recipe))
        for doc in prompts:
            meta = doc.metadata
            assert meta["language"] == language and meta["prompt"].strip()
            assert not re.search(r"\S  +\S|\n\n\n", meta["prompt"]), meta["prompt"]
            assert meta["format"] in catalog.formats
            assert meta["format"] in RELEASED_FORMATS | OURS_FORMATS
            assert meta["audience"] in RELEASED_AUDIENCES | OURS_AUDIENCES
            assert meta["seed_data"] in RELEASED_SEED_DATA | OURS_SEED_DATA
        if language == "ko":
            assert all(any("\uac00" <= ch <= "\ud7a3" for ch in d.metadata["prompt"]) for d in prompts)


def test_every_cosmopedia_subset_and_v2_domain_has_a_recipe():
    subsets = {"web_samples", "stanford", "openstax", "khanacademy", "auto_math_text", "wikihow", "stories"}
    domains = {"code_textbook", "math_solutions", "science_experiments", "history_analysis"}
    assert set(RECIPES) == subsets | domains
    assert all(find_pipeline(recipe).is_file() for recipe in RECIPES)


def test_recipes_reproduce_the_released_subset_names(tmp_path):
    """The subsets' seed_data and formats are the released Cosmopedia's, so one filter selects both."""
    write_jsonl(tmp_path / "outlines" / "00000.jsonl", [OUTLINE])
    seed_data = {}
    for recipe in RECIPES:
        for _, prompts, _ in prompt_stages(recipe, tmp_path, "en"):
            seed_data.setdefault(recipe, set()).update(d.metadata["seed_data"] for d in prompts)
    assert seed_data["web_samples"] == {"web_samples_v1"}
    for subset in ("stanford", "openstax", "khanacademy", "auto_math_text", "wikihow", "stories"):
        assert seed_data[subset] == {subset}
    formats = set(load_catalog(recipe_prompts("stories")).formats)
    assert formats == {
        "story_children",
        "story_morality",
        "story_life_lessons",
        "story_forums",
        "story_reddit",
    }
    assert set(load_catalog(recipe_prompts("web_samples")).formats) == {
        "wikihow",
        "textbook_narrative",
        "textbook_academic_tone",
        "blogpost",
    }


def test_prompts_render_shows_a_recipe_and_says_what_a_later_stage_needs(tmp_path):
    result = CliRunner().invoke(main, ["prompts", "render", "--pipeline", "stanford", "-n", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("format=course_outline") == 2
    assert "# stage units" in result.output and "no prompts yet" in result.output
    write_jsonl(tmp_path / "outlines" / "00000.jsonl", [OUTLINE])
    args = ["prompts", "render", "--pipeline", "stanford", "-n", "3", "--output", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.count("format=textbook") == 3 and "Frequency response" not in result.output
    assert "Convolution" in result.output  # the third unit: the first of chapter 2


@pytest.mark.engine
def test_stanford_outlines_then_units_on_the_real_engine(tiny_model, tmp_path):
    """Two generation stages: the outline answered in JSON (structured outputs) becomes a course whose
    every unit gets a prompt in the second stage; the tiny model's text is then filtered out, each
    drop written with its reason."""
    out = tmp_path / "stanford"
    args = ["-m", "cosmo_blocks.cli", "run", "stanford", "--limit", "2", "--model", tiny_model]
    result = run_cli(*args, "--output", str(out), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    outlines = [r for p in (out / "outlines").glob("*.jsonl") for r in read_jsonl(p)]
    assert len(outlines) == 2 and all(r["metadata"]["chapters"] for r in outlines)
    stats = {s["name"]: s["stats"] for s in json.loads((out / "logs" / "units" / "stats.json").read_text())}
    prompts = next(v["prompts"] for k, v in stats.items() if "Prompts" in k)
    prompts = prompts["total"] if isinstance(prompts, dict) else prompts
    expected = sum(len(c["units"]) for r in outlines for c in r["metadata"]["chapters"])
    assert prompts == expected > 0
    written = [
        r for folder in ("data", "rejects") for p in (out / folder).rglob("*.jsonl") for r in read_jsonl(p)
    ]
    assert len(written) == expected  # every unit kept or rejected with a reason, none lost
    assert all(r["prompt"].count("Write") >= 1 for r in written)
