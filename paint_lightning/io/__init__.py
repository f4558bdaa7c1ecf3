"""Files on disk: atomic writes (:mod:`.files`), the patched-model format (:mod:`.patched`), CLIP weights.

A run's ``paint_report.json``: :mod:`.report_file`.

CLIP weight files and Lightning checkpoints of them: :mod:`.clip_weights`.

The bottom layer with :mod:`paint_lightning.errors`: it imports nothing else of the package.
"""
