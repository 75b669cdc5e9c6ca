"""What the bundled subset recipes share: a prompts folder each, a seed sample each, and the chain
from seeds to the dataset.

A recipe's prompts are prompts/recipes/<name>/ (its manifest.toml, then <language>/<format>.txt) and
its sample seeds pipelines/seeds/<name>.jsonl; `--seeds` replaces the sample, `--param language=ko`
picks the Korean templates.
"""

from cosmo_blocks.resources import bundled_dir


def bundled_recipes() -> list[str]:
    """The bundled recipes: every prompts/recipes/<name>/ with a manifest."""
    root = bundled_dir("prompts") / "recipes"
    return sorted(p.name for p in root.iterdir() if (p / "manifest.toml").is_file())


def recipe_prompts(name: str) -> str:
    """The templates folder of the bundled recipe `name`."""
    return str(bundled_dir("prompts") / "recipes" / name)


def recipe_seeds(name: str) -> str:
    """The bundled seed sample of the recipe `name`."""
    return str(bundled_dir("pipelines") / "seeds" / f"{name}.jsonl")


def subset_steps(opts, recipe: str, seed_data: str, expand=(), checks=(), reader=None, **builder) -> list:
    """Seeds (the recipe's sample unless --seeds) -> `expand` (a topic extractor, a course's units)
    -> the recipe's prompts -> the engine -> the quality filters -> `checks` (a domain's own) ->
    OUTPUT/data, with every filter's drops under OUTPUT/rejects/<filter>.

    `reader`: read seeds with this instead (what an earlier stage wrote). `builder`: PromptBuilder
    arguments (mix, audiences, variants); the language is `--param language` (default en).
    """
    from cosmo_blocks.filters import quality_filters
    from cosmo_blocks.seeds import SeedReader
    from cosmo_blocks.writers import CosmopediaJsonlWriter

    out = opts.output.rstrip("/")
    return [
        reader or SeedReader(opts.seeds or recipe_seeds(recipe), seed_data=seed_data, limit=opts.limit),
        *expand,
        recipe_builder(opts, recipe, **builder),
        opts.generator(),
        *quality_filters(f"{out}/rejects"),
        *checks,
        CosmopediaJsonlWriter(f"{out}/data"),
    ]


def recipe_builder(opts, recipe: str, **builder):
    """The PromptBuilder of a recipe's templates, in the language of `--param language` (en)."""
    from cosmo_blocks.prompts import PromptBuilder

    return PromptBuilder(
        templates_dir=recipe_prompts(recipe), language=opts.param("language", "en"), **builder
    )


def rejects(opts, name: str):
    """A writer for what the filter `name` drops: OUTPUT/rejects/<name>, with the reason."""
    from cosmo_blocks.writers import CosmopediaJsonlWriter

    return CosmopediaJsonlWriter(f"{opts.output.rstrip('/')}/rejects/{name}", rejects=True)
