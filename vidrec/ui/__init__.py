"""Streamlit views: thin render functions over vidrec (the only package that imports streamlit)."""
