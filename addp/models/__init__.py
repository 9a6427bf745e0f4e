"""ADDP modules; the ``addp`` registries import this package on their first lookup."""
from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .generation import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .tokenizers import *  # noqa: F401,F403
