"""vidrec: LLM-era video recommendation, content understanding → interest mapping → feedback."""
