"""Vigie: metropolitan urban supervision centre."""

__version__ = "0.1.0"
