"""The default cleanup + quality chain, as the bundled pipelines use it."""

from cosmo_blocks.filters.boilerplate import BoilerplateCleaner
from cosmo_blocks.filters.code_execution import CodeExecutionFilter
from cosmo_blocks.filters.completeness import CompletenessFilter
from cosmo_blocks.filters.length import LengthFilter
from cosmo_blocks.filters.repetition import RepetitionFilter


def quality_filters(
    rejects_folder: str | None = None, min_chars: int = 500, min_tokens: int | None = None
) -> list:
    """Boilerplate cleanup, then length, completeness, repetition and code-execution filters.

    With `rejects_folder`, each filter writes what it drops to its own subfolder
    (`rejects/length`, `rejects/code`, ...), so each kind of drop can be read on its own.
    """
    from cosmo_blocks.writers import CosmopediaJsonlWriter

    def rejects(name: str):
        return CosmopediaJsonlWriter(f"{rejects_folder}/{name}", rejects=True) if rejects_folder else None

    return [
        BoilerplateCleaner(),
        LengthFilter(min_chars=min_chars, min_tokens=min_tokens, exclusion_writer=rejects("length")),
        CompletenessFilter(exclusion_writer=rejects("completeness")),
        RepetitionFilter(exclusion_writer=rejects("repetition")),
        CodeExecutionFilter(exclusion_writer=rejects("code")),
    ]
