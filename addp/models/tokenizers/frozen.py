"""The common ground of the frozen target generators."""
from typing import Optional

from mmengine.model import BaseModule

from addp.checkpoint import load_frozen_checkpoint


class FrozenModule(BaseModule):
    """A module whose weights come from its own checkpoint file and never train.

    Subclasses build their layers, then call :meth:`freeze`. The file is read at construction,
    so a model rebuilt for testing or sampling has the weights without ``init_weights``.
    Subclasses declare ``checkpoint_prefixes`` (where their keys may sit inside a larger file)
    and ``ignored_checkpoint_keys`` (regexes of keys they do not use).
    """

    checkpoint_prefixes = ('', )
    ignored_checkpoint_keys = ()

    def freeze(self, checkpoint: Optional[str]) -> None:
        """Loads ``checkpoint`` when given, then disables gradients and training mode."""
        self.checkpoint = checkpoint
        if checkpoint is not None:
            load_frozen_checkpoint(self, checkpoint)
        self.requires_grad_(False)
        self.eval()

    def init_weights(self) -> None:
        """Keeps the frozen weights: they come from ``checkpoint``, never from random init."""
        self._is_init = True

    def train(self, mode: bool = True) -> 'FrozenModule':
        """Stays in eval mode."""
        return super().train(False)
