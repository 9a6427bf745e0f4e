"""The common ground of the target generators: frozen inside ADDP, trainable on their own."""
from typing import Optional

from mmengine.model import BaseModule

from addp.checkpoint import load_frozen_checkpoint


class FrozenModule(BaseModule):
    """A module whose weights come from its own checkpoint file and, by default, never train.

    Subclasses build their layers, then call :meth:`freeze`. The file is read at construction,
    so a model rebuilt for testing or sampling has the weights without ``init_weights``.
    Subclasses declare ``checkpoint_prefixes`` (where their keys may sit inside a larger file)
    and ``ignored_checkpoint_keys`` (regexes of keys they do not use).

    Args:
        frozen (bool): False only where this module is itself trained (the ``VQGAN`` and
            ``MAGE`` algorithms): gradients, training mode and random init then work as usual.
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    checkpoint_prefixes = ('', )
    ignored_checkpoint_keys = ()

    def __init__(self, frozen: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.frozen = frozen

    def freeze(self, checkpoint: Optional[str]) -> None:
        """Loads ``checkpoint`` when given, then disables gradients and training mode if frozen."""
        self.checkpoint = checkpoint
        if checkpoint is not None:
            load_frozen_checkpoint(self, checkpoint)
        if self.frozen:
            self.requires_grad_(False)
            self.eval()

    def init_weights(self) -> None:
        """Keeps loaded or frozen weights; a trainable module without a file is initialised."""
        if self.frozen or self.checkpoint is not None:
            self._is_init = True
            return
        self.init_trainable_weights()
        self._is_init = True

    def init_trainable_weights(self) -> None:
        """Random initialisation for training from scratch; subclasses follow their paper."""

    def train(self, mode: bool = True) -> 'FrozenModule':
        """A frozen module stays in eval mode."""
        return super().train(mode and not self.frozen)
