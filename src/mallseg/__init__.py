"""mallseg: turn a shopping mall's customer data into segments people act on."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
