"""Incremental learning: from a small initialization, gradient descent on low-rank matrix sensing learns the
target's singular values one at a time, largest first, and each plateau lasts about ln(1/α)/(ησ)."""
