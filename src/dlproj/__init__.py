"""dlproj: start deep-learning projects laid out the way the best teams do, and keep them current.

The command-line interface lives in :mod:`dlproj.cli`; everything else is a small typed core that
the CLI, the tests and the benchmarks share.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
