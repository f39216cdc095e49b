"""Test-wide settings: one torch thread.

The models under test are tiny; on a 2-core machine two intra-op threads per process cost
far more in contention (tests start subprocesses: CLI, store writers, notebook kernels,
Streamlit) than they gain. Subprocesses inherit OMP_NUM_THREADS=1 from scripts/test.sh.
"""

import os

import torch

os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(1)
