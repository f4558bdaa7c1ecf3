"""Keeping the random streams of training untouched by evaluation work."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator

import numpy as np
import torch


@contextlib.contextmanager
def preserved_rng() -> Iterator[None]:
    """Restores torch (CPU and CUDA), NumPy and Python RNG states on exit.

    Creating a DataLoader iterator draws from the global torch RNG; evaluation must not shift the
    random stream that training sees, or a run with the sweep would train differently.
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)
