"""The default cleanup + quality chain, as the bundled pipelines use it."""

from cosmo_blocks.filters.boilerplate import BoilerplateCleaner
from cosmo_blocks.filters.code_execution import CodeExecutionFilter
from cosmo_blocks.filters.completeness import CompletenessFilter
from cosmo_blocks.filters.degeneration import DegenerationFilter
from cosmo_blocks.filters.language import LanguageFilter
from cosmo_blocks.filters.length import LengthFilter
from cosmo_blocks.filters.meta import MetaTextFilter
from cosmo_blocks.filters.relevance import TopicRelevanceFilter
from cosmo_blocks.filters.repetition import RepetitionFilter


def quality_filters(
    rejects_folder: str | None = None,
    min_chars: int = 500,
    min_tokens: int | None = 150,
    relevance: bool = False,
) -> list:
    """Boilerplate cleanup, then the length, language, completeness, repetition, degeneration, meta-text
    and code-execution filters; with `relevance`, the topic-relevance filter before the code runs (it
    needs the `relevance` extra: sentence-transformers and all-MiniLM-L6-v2).

    With `rejects_folder`, each filter writes what it drops to its own subfolder
    (`rejects/length`, `rejects/code`, ...), so each kind of drop can be read on its own.
    """
    from cosmo_blocks.writers import CosmopediaJsonlWriter

    def rejects(name: str):
        return CosmopediaJsonlWriter(f"{rejects_folder}/{name}", rejects=True) if rejects_folder else None

    steps = [
        BoilerplateCleaner(),
        LengthFilter(min_chars=min_chars, min_tokens=min_tokens, exclusion_writer=rejects("length")),
        LanguageFilter(exclusion_writer=rejects("language")),
        CompletenessFilter(exclusion_writer=rejects("completeness")),
        RepetitionFilter(exclusion_writer=rejects("repetition")),
        DegenerationFilter(exclusion_writer=rejects("degeneration")),
        MetaTextFilter(exclusion_writer=rejects("meta")),
    ]
    if relevance:
        steps.append(TopicRelevanceFilter(exclusion_writer=rejects("relevance")))
    return [*steps, CodeExecutionFilter(exclusion_writer=rejects("code"))]
