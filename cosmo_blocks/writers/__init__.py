from cosmo_blocks.writers.cosmopedia import CosmopediaJsonlWriter, CosmopediaParquetWriter, cosmopedia_record
from cosmo_blocks.writers.shared import check_shared_writers

__all__ = ["CosmopediaJsonlWriter", "CosmopediaParquetWriter", "check_shared_writers", "cosmopedia_record"]
