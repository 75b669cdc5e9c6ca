"""Cleanup and quality filters for generated documents: what Cosmopedia never checked."""

from cosmo_blocks.filters.boilerplate import BoilerplateCleaner
from cosmo_blocks.filters.chain import quality_filters
from cosmo_blocks.filters.code_execution import CodeExecutionFilter
from cosmo_blocks.filters.completeness import CompletenessFilter
from cosmo_blocks.filters.degeneration import DegenerationFilter
from cosmo_blocks.filters.language import LanguageFilter
from cosmo_blocks.filters.length import LengthFilter
from cosmo_blocks.filters.math_answer import MathAnswerFilter
from cosmo_blocks.filters.meta import MetaTextFilter
from cosmo_blocks.filters.relevance import TopicRelevanceFilter
from cosmo_blocks.filters.repetition import RepetitionFilter
from cosmo_blocks.filters.structure import HistoricalDatesFilter, ScienceExperimentFilter

__all__ = [
    "BoilerplateCleaner",
    "CodeExecutionFilter",
    "CompletenessFilter",
    "DegenerationFilter",
    "LanguageFilter",
    "HistoricalDatesFilter",
    "LengthFilter",
    "MathAnswerFilter",
    "MetaTextFilter",
    "RepetitionFilter",
    "ScienceExperimentFilter",
    "TopicRelevanceFilter",
    "quality_filters",
]
