"""Label noise: early learning, then memorization; random labels fit more slowly (Zhang et al. 2017; Liu et al. 2020)."""
