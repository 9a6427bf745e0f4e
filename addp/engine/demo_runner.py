"""The runner of the demo config: it writes the demo's inputs, then trains as usual."""
from mmengine.config import Config
from mmengine.runner import Runner

from addp.datasets import prepare_demo_data
from addp.registry import RUNNERS


@RUNNERS.register_module()
class DemoRunner(Runner):
    """:class:`~mmengine.runner.Runner` that first lays out ``cfg.demo_data_root``.

    It writes the embedded demo images and the randomly initialised tiny tokenizer and token
    predictor files there (see :func:`addp.datasets.prepare_demo_data`), keeping files that
    exist, so that ``configs/addp/demo_tiny.py`` runs on a fresh checkout without downloads.
    """

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'DemoRunner':
        prepare_demo_data(cfg['demo_data_root'])
        return super().from_cfg(cfg)
