"""Workflows made of several ``paint fit`` runs: the chain of steps of sequential patching.

The ``paint sequential`` command that runs a chain is :mod:`paint_lightning.commands.sequential`.
"""

from paint_lightning.workflows.chain import Chain, Step, load_chain, parse_chain

__all__ = ["Chain", "Step", "load_chain", "parse_chain"]
