"""The four measurements of neural collapse (Papyan, Han & Donoho 2020) on the last-layer features of the training
set, in float64 torch on one thread (numpy's LAPACK would start its own thread pool). The unit tests check them on
features built by hand."""

from dataclasses import dataclass

import numpy as np
import torch

RANK_TOLERANCE = 1e-9  # singular values of the class means below this × the largest count as zero (Σ_B⁺)


@dataclass(frozen=True)
class Collapse:
    nc1: float  # Tr(Σ_W Σ_B⁺) / K: within-class spread against the spread between class means
    cos_mean: float  # mean cosine between two centred class means (a simplex ETF: −1/(K − 1))
    cos_spread: float  # their standard deviation (a simplex ETF: 0)
    norm_cv: float  # std / mean of the centred class-mean norms (equinorm: 0)
    nc3: float  # ‖W/‖W‖ − M/‖M‖‖²_F: how far the classifier rows are from the centred class means (self-dual: 0)
    nc4: float  # fraction of training images where the nearest class mean disagrees with the classifier
    cosines: np.ndarray  # (K, K) cosines between the centred class means


def class_means(features: torch.Tensor, labels: torch.Tensor, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, d) class means μ_c and (d,) the global mean μ_G of features (N, d) (balanced classes: μ_G = mean μ_c)."""
    means = torch.stack([features[labels == c].mean(dim=0) for c in range(classes)])
    return means, features.mean(dim=0)


def nc1(features: torch.Tensor, labels: torch.Tensor, classes: int) -> float:
    """Tr(Σ_W Σ_B⁺) / K, with Σ_W = (1/N) Σ_i (h_i − μ_{y_i})(h_i − μ_{y_i})ᵀ and Σ_B = (1/K) Σ_c (μ_c − μ_G)(…)ᵀ.

    Σ_B = M Mᵀ / K for the (d, K) matrix M of centred means; with M = U S Vᵀ, Σ_B⁺ = K U S⁻² Uᵀ over the non-zero
    singular values, so Tr(Σ_W Σ_B⁺) / K = Σ_j u_jᵀ Σ_W u_j / s_j²: the within-class variance along each direction
    that separates the means, in units of how far apart the means are along it. No d × d inverse needed.
    """
    means, centre = class_means(features, labels, classes)
    within = features - means[labels]  # (N, d)
    u, s, _ = torch.linalg.svd((means - centre).T, full_matrices=False)  # (d, K), (K,)
    keep = s > RANK_TOLERANCE * s[0]
    if not bool(keep.any()):
        return float("inf")
    projected = within @ u[:, keep]  # (N, r): the within-class deviations along the directions of the means
    return float(torch.sum(torch.mean(projected**2, dim=0) / s[keep] ** 2))


def measure(features: torch.Tensor, labels: torch.Tensor, classifier: torch.Tensor, predictions: torch.Tensor,
            classes: int) -> Collapse:
    """Every measurement at once: features (N, d), labels (N,), classifier weights (K, d), predictions (N,)."""
    features = features.double()
    means, centre = class_means(features, labels, classes)
    centred = means - centre  # (K, d)
    norms = centred.norm(dim=1)  # (K,)
    unit = centred / norms.clamp(min=1e-300)[:, None]
    cosines = unit @ unit.T  # (K, K)
    off = cosines[~torch.eye(classes, dtype=torch.bool)]
    w = classifier.double()
    nc3 = float(torch.sum((w / w.norm() - centred / centred.norm()) ** 2))
    nearest = torch.cdist(features, means, compute_mode="donot_use_mm_for_euclid_dist").argmin(dim=1)  # (N,)
    return Collapse(
        nc1=nc1(features, labels, classes), cos_mean=float(off.mean()), cos_spread=float(off.std(correction=0)),
        norm_cv=float(norms.std(correction=0) / norms.mean()), nc3=nc3,
        nc4=float((nearest != predictions).double().mean()), cosines=cosines.numpy(),
    )


def projection(features: torch.Tensor, labels: torch.Tensor, shown: torch.Tensor, classes: int) -> np.ndarray:
    """(n, 3): the `shown` images' features on the top two principal components of all the training features,
    centred on the global mean and scaled so that the class means sit at RMS distance 1, and their class id.

    Each component's sign is fixed (its largest loading positive) so that scrubbing through training does not
    flip the picture at random.
    """
    features = features.double()
    means, centre = class_means(features, labels, classes)
    _, _, vt = torch.linalg.svd(features - centre, full_matrices=False)  # (r, d)
    axes = vt[:2]  # (≤ 2, d)
    signs = torch.sign(axes[torch.arange(len(axes)), axes.abs().argmax(dim=1)])
    axes = axes * torch.where(signs == 0, 1.0, signs)[:, None]
    scale = float(((means - centre) ** 2).sum(dim=1).mean().sqrt())
    points = (features[shown] - centre) @ axes.T / (scale if scale > 0 else 1.0)  # (n, ≤ 2)
    if points.shape[1] < 2:  # a one-dimensional feature space: the second coordinate is 0
        points = torch.cat([points, points.new_zeros(len(points), 2 - points.shape[1])], dim=1)
    return torch.cat([points, labels[shown, None].double()], dim=1).numpy()
