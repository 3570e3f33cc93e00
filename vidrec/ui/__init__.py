"""Streamlit views: thin render functions over vidrec's library (the only package using streamlit)."""
