"""The global random states a checkpoint carries (torch, numpy, python), so a resumed run draws the same
random numbers as an uninterrupted one. A trainer's own `torch.Generator`s go in its state dict itself."""

import random
from typing import Any

import numpy as np
import torch

KEY = "_rng"


def capture() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": list(random.getstate()[1]),
                             "python_version": random.getstate()[0], "python_gauss": random.getstate()[2]}
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)  # type: ignore[misc]
    state["numpy"] = {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                      "has_gauss": int(has_gauss), "cached": float(cached)}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    numpy = state["numpy"]
    np.random.set_state(("MT19937", numpy["keys"].numpy().astype(np.uint32), numpy["pos"], numpy["has_gauss"],
                         numpy["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def with_rng(state: dict[str, Any]) -> dict[str, Any]:
    """`state` plus the global RNG states, for a checkpoint."""
    return {**state, KEY: capture()}


def without_rng(state: dict[str, Any]) -> dict[str, Any]:
    """Put the checkpoint's RNG states back (if it has them) and return the trainer's own state."""
    rng = state.pop(KEY, None)
    if rng is not None:
        restore(rng)
    return state
