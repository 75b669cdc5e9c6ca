"""prompts/manifest.toml names its formats and audiences in the released Cosmopedia's vocabulary."""

import difflib
import shutil
from pathlib import Path

from cosmo_blocks.prompts.templates import load_catalog
from cosmo_blocks.prompts.vocabulary import (
    OURS_AUDIENCES,
    OURS_FORMATS,
    OURS_SEED_DATA,
    RELEASED_AUDIENCES,
    RELEASED_FORMATS,
    RELEASED_SEED_DATA,
)
from cosmo_blocks.recipes import bundled_recipes, recipe_prompts

REPO = Path(__file__).resolve().parents[2]


def unknown_names(templates_dir=None) -> dict[str, str | None]:
    """Each format or audience of the manifest that is neither released nor ours, with the released
    name it is closest to (a misspelling), if any."""
    catalog = load_catalog(templates_dir)
    formats = set(catalog.formats)
    audiences = {a for spec in catalog.formats.values() for a in spec["audiences"]}
    audiences |= {a for names in catalog.audience_names.values() for a in names}
    unknown = {}
    for names, released, ours in (
        (formats, RELEASED_FORMATS, OURS_FORMATS),
        (audiences, RELEASED_AUDIENCES, OURS_AUDIENCES),
    ):
        for name in names - released - ours:
            unknown[name] = next(iter(difflib.get_close_matches(name, released, n=1, cutoff=0.8)), None)
    return unknown


def test_the_manifest_uses_released_names_or_ours():
    assert unknown_names() == {}


RECIPES = bundled_recipes()


def test_every_recipe_uses_released_names_or_ours():
    assert {recipe: unknown_names(recipe_prompts(recipe)) for recipe in RECIPES} == {
        recipe: {} for recipe in RECIPES
    }


def test_a_misspelt_released_name_fails(tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    for language in ("en", "ko"):
        shutil.copy(templates / language / "blogpost.txt", templates / language / "blog_post.txt")
    with open(templates / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[formats.blog_post]\nshare = 0.1\naudiences = ["high_school_students", "general"]\n')
        f.write('\n[audiences.de]\nhigh_school_students = "Oberstufenschüler"\n')
    assert unknown_names(templates) == {
        "blog_post": "blogpost",
        "high_school_students": "high_school_studnets",
    }


def test_our_own_names_are_no_near_miss_of_a_released_one():
    """A value of ours is a different thing, so it must not read as a variant of a released name."""
    for ours, released in (
        (OURS_FORMATS, RELEASED_FORMATS),
        (OURS_AUDIENCES, RELEASED_AUDIENCES),
        (OURS_SEED_DATA, RELEASED_SEED_DATA),
    ):
        assert not ours & released
        for name in ours:
            assert not difflib.get_close_matches(name, released, cutoff=0.8), name
