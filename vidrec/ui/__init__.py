"""Streamlit views: thin render functions over vidrec (the only package that imports streamlit).

The app serves many viewers from one process on few cores, so idle OpenMP threads (torch, faiss)
are told to sleep rather than spin: a spinning thread holds a core another viewer's rerun needs.
It must be set before torch or faiss load, and app.py imports this package before either.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
