"""The top level of every tool: known errors end in one line, exit code 2, no traceback."""
import os.path as osp
import sys
from typing import Callable, Optional

from addp.errors import ADDPError

# ADDP's own errors, and files named on the command line or in a config that are not there.
KNOWN_ERRORS = (ADDPError, FileNotFoundError)


def run_tool(main: Callable[[], Optional[int]]) -> None:
    """Runs a tool's ``main`` and exits with its return code (0 when None).

    A known error (:data:`KNOWN_ERRORS`) prints ``<tool>: error: <message>`` to stderr and
    exits with 2, as argparse does for bad options. Other exceptions propagate with their
    traceback.
    """
    try:
        code = main()
    except KNOWN_ERRORS as err:
        print(f'{osp.basename(sys.argv[0])}: error: {err}', file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
