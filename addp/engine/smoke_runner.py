"""The runner of the smoke run: it writes the smoke run's inputs, then trains as usual."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from addp.datasets import write_smoke_images
from addp.models.target_generators.stand_ins import write_frozen_stand_ins
from addp.registry import RUNNERS


@RUNNERS.register_module()
class SmokeRunner(Runner):
    """:class:`~mmengine.runner.Runner` that first writes what the smoke-run config reads.

    The drawn images go to ``cfg.smoke_data_root/images``, and randomly initialised
    stand-ins for the frozen tokenizer and token predictor to the ``checkpoint`` paths of
    ``cfg.model``. Files that exist are kept, so that ``configs/addp/smoke_tiny.py`` runs on a
    fresh checkout without downloads.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'SmokeRunner':
        write_smoke_images(osp.join(cfg['smoke_data_root'], 'images'))
        write_frozen_stand_ins(cfg.model.tokenizer, cfg.model.token_predictor)
        return super().from_cfg(cfg)
