"""Workflows made of several ``paint fit`` runs: sequential patching (``paint sequential``)."""

from paint_lightning.workflows.chain import Chain, Step, load_chain, parse_chain
from paint_lightning.workflows.sequential import run_chain, sequential_main

__all__ = ["Chain", "Step", "load_chain", "parse_chain", "run_chain", "sequential_main"]
