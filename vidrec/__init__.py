"""vidrec: LLM-era video recommendation, content understanding → interest mapping → feedback."""

from vidrec import moved

moved.install()  # old flat import paths keep working, with a DeprecationWarning
