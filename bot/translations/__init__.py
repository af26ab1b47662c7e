"""Translations: the reply texts and topic answers staff edit in the console (Textos), stored
as overrides on top of the YAML, with the native-speaker check and CSV for offline work."""
