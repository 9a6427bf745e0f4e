"""ADDP modules; the ``addp`` registries import this package on their first lookup."""
from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .target_generators import *  # noqa: F401,F403
