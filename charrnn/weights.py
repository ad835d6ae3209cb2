"""Reading a weights file: a plain state_dict loaded with `weights_only=True`,
so a foreign or corrupted file is refused, never unpickled. Low in the layers:
the trainer starts from one (init_weights), the store keeps them."""
from __future__ import annotations

import io

import torch

from .i18n import Explained


class StoreError(Explained):
    """A run directory or file cannot be used; one sentence for the user."""


def load_weights(source) -> dict:
    """A state_dict from a path or bytes; anything but plain tensors is refused."""
    try:
        if isinstance(source, (bytes, bytearray)):
            source = io.BytesIO(source)
        sd = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise StoreError.of("store.not_weights", error=exc.__class__.__name__) from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise StoreError.of("store.not_state_dict")
    return sd
