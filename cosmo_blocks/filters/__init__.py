"""Cleanup and quality filters for generated documents: what Cosmopedia never checked."""

from cosmo_blocks.filters.boilerplate import BoilerplateCleaner
from cosmo_blocks.filters.chain import quality_filters
from cosmo_blocks.filters.code_execution import CodeExecutionFilter
from cosmo_blocks.filters.completeness import CompletenessFilter
from cosmo_blocks.filters.degeneration import DegenerationFilter
from cosmo_blocks.filters.language import LanguageFilter
from cosmo_blocks.filters.length import LengthFilter
from cosmo_blocks.filters.meta import MetaTextFilter
from cosmo_blocks.filters.relevance import TopicRelevanceFilter
from cosmo_blocks.filters.repetition import RepetitionFilter

__all__ = [
    "BoilerplateCleaner",
    "CodeExecutionFilter",
    "CompletenessFilter",
    "DegenerationFilter",
    "LanguageFilter",
    "LengthFilter",
    "MetaTextFilter",
    "RepetitionFilter",
    "TopicRelevanceFilter",
    "quality_filters",
]
