"""Neural collapse: trained past zero error, the last-layer features of each class shrink to their mean, and the
means spread out into a simplex equiangular tight frame."""
