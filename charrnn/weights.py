"""Reading a weights file: a plain state_dict loaded with `weights_only=True`,
so a foreign or corrupted file is refused, never unpickled. Low in the layers:
the trainer starts from one (init_weights), the store keeps them."""
from __future__ import annotations

import io

import torch


class StoreError(ValueError):
    """A run directory or file cannot be used; one sentence for the user."""


def load_weights(source) -> dict:
    """A state_dict from a path or bytes; anything but plain tensors is refused."""
    try:
        if isinstance(source, (bytes, bytearray)):
            source = io.BytesIO(source)
        sd = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StoreError(f"not a weights file this app can read ({exc.__class__.__name__}); "
                         "weights are loaded with weights_only=True") from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise StoreError("not a state_dict: expected a dictionary of tensors")
    return sd
