"""Streamlit views: thin render functions over vidrec (the only package that imports streamlit).

The app serves many viewers from one process on few cores, so idle OpenMP threads (torch, faiss)
are told to sleep rather than spin: a spinning thread holds a core another viewer's rerun needs.
numpy's OpenBLAS runs on one thread for the same reason: its matrices here are small (a catalog
of thousands), and on a busy 2-core machine its spinning thread pool made the start-up PCA of
the maps take 2–9 s instead of 0.1 s. Both must be set before numpy, torch or faiss load, and
app.py imports this package before any of them.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
