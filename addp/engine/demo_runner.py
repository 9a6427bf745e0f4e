"""The runner of the demo config: it writes the demo's inputs, then trains as usual."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from addp.datasets import write_demo_images
from addp.models.tokenizers.stand_ins import write_frozen_stand_ins
from addp.registry import RUNNERS


@RUNNERS.register_module()
class DemoRunner(Runner):
    """:class:`~mmengine.runner.Runner` that first writes what the demo config reads.

    The embedded demo images go to ``cfg.demo_data_root/images``, and randomly initialised
    stand-ins for the frozen tokenizer and token predictor to the ``checkpoint`` paths of
    ``cfg.model``. Files that exist are kept, so that ``configs/addp/demo_tiny.py`` runs on a
    fresh checkout without downloads.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'DemoRunner':
        write_demo_images(osp.join(cfg['demo_data_root'], 'images'))
        write_frozen_stand_ins(cfg.model.tokenizer, cfg.model.token_predictor)
        return super().from_cfg(cfg)
