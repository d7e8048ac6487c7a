"""Benign overfitting and grokking: a two-layer ReLU network on XOR cluster data (Xu et al. 2023)."""
