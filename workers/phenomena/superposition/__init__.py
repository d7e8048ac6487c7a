"""Superposition: a toy autoencoder stores more sparse features than it has dimensions, and its loss falls as 1/m."""
