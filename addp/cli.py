"""The top level of every tool: known errors end in one line, exit code 2, no traceback."""
import gc
import os.path as osp
import sys
import traceback
from typing import Callable, Optional

from addp.errors import ADDPError

# ADDP's own errors, and files named on the command line or in a config that are not there.
KNOWN_ERRORS = (ADDPError, FileNotFoundError)


def run_tool(main: Callable[[], Optional[int]]) -> None:
    """Runs a tool's ``main`` and exits with its return code (0 when None).

    A known error (:data:`KNOWN_ERRORS`) prints ``<tool>: error: <message>`` to stderr and
    exits with 2, as argparse does for bad options. Ctrl-C exits with 130. Other exceptions
    print their traceback and exit with 1.

    Before exiting, whatever the run left behind (a runner, a DDP model and the process group
    it holds) is freed while the interpreter is whole: a process group's threads that release
    their last tensors during interpreter shutdown abort the process.
    """
    tool = osp.basename(sys.argv[0])
    try:
        returned = main()
        code = returned if isinstance(returned, int) else 0
    except KNOWN_ERRORS as err:
        print(f'{tool}: error: {err}', file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        print(f'{tool}: interrupted', file=sys.stderr)
        code = 130
    except SystemExit as stop:  # argparse's errors, and SIGTERM (see addp.dist)
        code = 0 if stop.code is None else stop.code
    except BaseException:
        traceback.print_exc()
        code = 1
    gc.collect()
    sys.exit(code)
