"""XOR cluster data, with the exact geometry of d dimensions drawn in a basis of n + n_test + width + 2.

A point is x = μ + ξ: μ one of ±μ₁, ±μ₂ (μ₁ ⊥ μ₂, ‖μ₁‖ = ‖μ₂‖), ξ ~ N(0, I_d); the label is +1 on ±μ₁ and −1 on
±μ₂ (XOR of the two sign bits in the rotated frame), and a training label is flipped with probability η.

Gradient descent only ever looks at inner products: every step adds a combination of the training points to each
neuron, so w_j(t) = w_j(0) + Σ_i c_ji(t) x_i, and every quantity the trainer needs is an inner product between
training points, test points, initial neurons and μ₁, μ₂. Those vectors are n + n_test + width Gaussian vectors plus
two fixed directions. Rotate so that μ₁, μ₂ are the first two axes; the Gaussian vectors' coordinates on those two
are N(0, 1); the rest lives in d − 2 dimensions, where the N vectors' Gram matrix is Wishart, and Bartlett's
decomposition draws it exactly as L Lᵀ with L lower triangular (N × N). So the data is exact in distribution for any
d, at a cost set by N, not d. (When d − 2 ≤ N the vectors are simply drawn in d − 2 dimensions.)
"""

from dataclasses import dataclass

import numpy as np

from workers.phenomena.xor_grokking.config import Config

CLUSTERS = ("+μ₁", "−μ₁", "+μ₂", "−μ₂")  # cluster c: sign and axis; clean label +1 on μ₁'s, −1 on μ₂'s


@dataclass(frozen=True)
class XorData:
    """All float64. i: training point (n), t: test point (n_test), j: neuron (width), k: μ₁ or μ₂."""

    gram: np.ndarray  # (n, n) ⟨x_i, x_i'⟩
    cross: np.ndarray  # (n, n_test) ⟨x_i, x_t⟩
    init_train: np.ndarray  # (width, n) ⟨w_j(0), x_i⟩
    init_test: np.ndarray  # (width, n_test) ⟨w_j(0), x_t⟩
    init_mu: np.ndarray  # (width, 2) ⟨w_j(0), μ_k⟩ / ‖μ‖
    train_mu: np.ndarray  # (n, 2) ⟨x_i, μ_k⟩ / ‖μ‖
    y_train: np.ndarray  # (n,) ±1, after flipping
    flipped: np.ndarray  # (n,) bool
    cluster_train: np.ndarray  # (n,) 0..3, as CLUSTERS
    y_test: np.ndarray  # (n_test,) ±1, clean
    cluster_test: np.ndarray  # (n_test,) 0..3


def gaussian_coordinates(count: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """(count, min(count, dim)) coordinates of `count` iid N(0, I_dim) vectors in an orthonormal basis of their
    span: the rows' Gram matrix has exactly the distribution of the original vectors' (Bartlett when dim > count)."""
    if dim <= count:
        return rng.standard_normal((count, dim))
    lower = np.tril(rng.standard_normal((count, count)), -1)
    lower[np.diag_indices(count)] = np.sqrt(rng.chisquare(dim - np.arange(count)))
    return lower


def make_data(config: Config, seed: int) -> XorData:
    rng = np.random.default_rng(seed)
    n, t, m = config.n, config.n_test, config.width
    cluster = rng.integers(0, 4, n + t)  # (n + t,)
    flipped = rng.random(n) < config.label_noise  # (n,)
    count = n + t + m
    vectors = np.concatenate(
        [rng.standard_normal((count, 2)), gaussian_coordinates(count, config.d - 2, rng)], axis=1
    )  # (count, D): the first two axes are μ₁ / ‖μ‖ and μ₂ / ‖μ‖
    centres = np.zeros((4, vectors.shape[1]))
    centres[[0, 1, 2, 3], [0, 0, 1, 1]] = config.mu_norm * np.array([1.0, -1.0, 1.0, -1.0])
    points = vectors[: n + t] + centres[cluster]  # (n + t, D)
    neurons = config.init_scale / np.sqrt(config.d) * vectors[n + t :]  # (m, D)
    train, test = points[:n], points[n:]
    clean = np.where(cluster < 2, 1.0, -1.0)
    return XorData(
        gram=train @ train.T,
        cross=train @ test.T,
        init_train=neurons @ train.T,
        init_test=neurons @ test.T,
        init_mu=neurons[:, :2].copy(),
        train_mu=train[:, :2].copy(),
        y_train=np.where(flipped, -clean[:n], clean[:n]),
        flipped=flipped,
        cluster_train=cluster[:n],
        y_test=clean[n:],
        cluster_test=cluster[n:],
    )
