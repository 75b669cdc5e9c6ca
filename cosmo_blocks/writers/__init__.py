from cosmo_blocks.writers.cosmopedia import CosmopediaJsonlWriter, CosmopediaParquetWriter, cosmopedia_record

__all__ = ["CosmopediaJsonlWriter", "CosmopediaParquetWriter", "cosmopedia_record"]
