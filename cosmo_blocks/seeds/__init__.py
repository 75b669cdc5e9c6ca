from cosmo_blocks.seeds.courses import CourseUnits
from cosmo_blocks.seeds.reader import SeedReader
from cosmo_blocks.seeds.sources import SOURCES
from cosmo_blocks.seeds.topics import TopicExtractor

__all__ = ["SOURCES", "CourseUnits", "SeedReader", "TopicExtractor"]
