"""The dataset end: what turns generated records into a training-ready dataset (dedup,
decontamination, mixing with real text, the released Cosmopedia, the report and the card)."""
