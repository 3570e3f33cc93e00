"""Presentation without Streamlit: figures, maps, exports, and the compare and why wording."""
