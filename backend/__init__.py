"""Phaselab: a browser lab for neural-network training dynamics."""

__version__ = "0.1.0"
