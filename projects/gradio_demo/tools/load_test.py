"""Load test of the web demo: concurrent gradio_client clients against one server on 127.0.0.1.

    python projects/gradio_demo/tools/load_test.py                    # tiny untrained models
    python projects/gradio_demo/tools/load_test.py --clients 8 --requests 50 -- \\
        --config CONFIG --checkpoint ADDP.pth ...                     # launch.py's arguments

It starts ``launch.py`` as a separate process on a free 127.0.0.1 port (by default on tiny
untrained digits models, written to a temporary folder), warms it up with the mix's ten
kinds of request one at a time, then lets ``--clients`` clients send ``--requests`` requests
in total: Generate, Repaint and Classify, some of them over a limit on purpose (steps,
images, image size). Every request must be answered, or refused with the message its limit
gives; the server must still answer afterwards, and its resident memory must end within
``--memory-tolerance`` of what it was after the warm-up. It prints requests per second, the
slowest answer, the counts, and the memory, and exits with 1 when a check fails.
"""
import argparse
import dataclasses
import os
import os.path as osp
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any, List, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from gradio_client.utils import QueueError  # noqa: E402
from PIL import Image  # noqa: E402

from addp.cli import run_tool  # noqa: E402
from addp.errors import InvalidInputError  # noqa: E402
from projects.gradio_demo.addp_gradio.app import enlarged  # noqa: E402
from projects.gradio_demo.addp_gradio.models import DemoLimits  # noqa: E402

LAUNCH = osp.join(ROOT, 'projects', 'gradio_demo', 'launch.py')
# Images and steps of an ordinary request: what a visitor would ask of the digits demo.
NUM_IMAGES, NUM_STEPS = 4, 8
# The outcomes of a request that the test accepts; anything else is 'wrong'.
ANSWERED, REFUSED, QUEUE_FULL, WRONG = 'answered', 'refused', 'queue full', 'wrong'


@dataclasses.dataclass
class LoadRequest:
    """One request of the mix.

    Attributes:
        index (int): Its place in the mix.
        what (str): A short description, e.g. ``'generate 65 steps'``.
        api_name (str): The endpoint: ``/generate``, ``/repaint`` or ``/classify``.
        args (tuple): What ``Client.submit`` is given.
        refusal (str, optional): Text the refusal must contain; None when it must be answered.
        expected_outputs (int): For an answer: images in the gallery, outputs of Repaint, or
            classes in the label.
    """
    index: int
    what: str
    api_name: str
    args: tuple
    refusal: Optional[str] = None
    expected_outputs: int = 0


@dataclasses.dataclass
class Outcome:
    """What became of one request: ``verdict`` is one of ANSWERED, REFUSED, QUEUE_FULL, WRONG.

    Attributes:
        request (LoadRequest): The request.
        seconds (float): From submitting it to its answer or refusal.
        verdict (str): ANSWERED (as it should be), REFUSED (with the expected message),
            QUEUE_FULL (refused by the bounded queue) or WRONG.
        message (str): The refusal, or what was wrong.
    """
    request: LoadRequest
    seconds: float
    verdict: str
    message: str = ''


@dataclasses.dataclass
class LoadReport:
    """The outcomes of one load run, and how long it took."""
    outcomes: List[Outcome]
    seconds: float

    def count(self, verdict: str) -> int:
        return sum(outcome.verdict == verdict for outcome in self.outcomes)

    @property
    def requests_per_second(self) -> float:
        return len(self.outcomes) / self.seconds

    @property
    def slowest_answer(self) -> Optional[Outcome]:
        answered = [outcome for outcome in self.outcomes if outcome.verdict == ANSWERED]
        return max(answered, key=lambda outcome: outcome.seconds, default=None)

    @property
    def wrong(self) -> List[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.verdict == WRONG]


@dataclasses.dataclass
class LoadInputs:
    """The files the requests upload: a generated sample enlarged, a brush over part of it,
    and an image one pixel wider than the limit."""
    picture: str
    brush: str
    too_wide: str


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def new_client(url: str, download_dir: str) -> Client:
    return Client(url, verbose=False, analytics_enabled=False, download_files=download_dir)


def prepare_inputs(client: Client, work_dir: str, limits: DemoLimits) -> LoadInputs:
    """Draws one sample through ``client`` and writes the files that the requests upload."""
    gallery = client.predict(1, NUM_STEPS, 6., 0, 'any', 1., api_name='/generate')
    picture = enlarged(np.asarray(Image.open(gallery[0]['image']).convert('RGB')))
    brush = np.zeros((*picture.shape[:2], 4), np.uint8)
    brush[:picture.shape[0] // 4, :picture.shape[1] // 2, 3] = 255
    # Any content will do: the size is refused before anything is computed from it.
    too_wide = np.full((8, limits.max_image_side + 1, 3), 255, np.uint8)
    inputs = LoadInputs(*(osp.join(work_dir, f'{name}.png')
                          for name in ('picture', 'brush', 'too_wide')))
    Image.fromarray(picture).save(inputs.picture)
    Image.fromarray(brush).save(inputs.brush)
    Image.fromarray(too_wide).save(inputs.too_wide)
    return inputs


def build_requests(count: int, inputs: LoadInputs, limits: DemoLimits) -> List[LoadRequest]:
    """``count`` requests cycling through ten: six ordinary ones and four over a limit.

    A number over a slider's end is refused by Gradio's own check of the slider's range,
    before the demo's function runs; an image too large is refused by :class:`DemoModels`.
    """
    def editor(path: str, brushed: bool = True) -> dict:
        return dict(background=handle_file(path),
                    layers=[handle_file(inputs.brush)] if brushed else [], composite=None)

    def sketch(path: str) -> dict:
        return dict(background=handle_file(path), layers=[], composite=handle_file(path))

    def over_slider(value: int, maximum: int) -> str:
        return f'Value {value} is greater than maximum value {maximum}'

    too_wide = f'{limits.max_image_side + 1}x8'
    too_wide_refusal = (f'the image is {too_wide} pixels, over the limit of '
                        f'{limits.max_image_side} pixels a side')
    steps, images = limits.max_steps + 1, limits.max_images + 1
    generate = (NUM_IMAGES, NUM_STEPS, 6.)
    cycle = [
        lambda seed: ('generate', '/generate', (*generate, seed, 'any', 1.), None, NUM_IMAGES),
        lambda seed: ('repaint', '/repaint', (editor(inputs.picture), NUM_STEPS, 6., seed,
                                              'any', 1.), None, 2),
        lambda seed: ('classify', '/classify', (sketch(inputs.picture), ), None, 3),
        lambda seed: (f'generate {steps} steps', '/generate',
                      (NUM_IMAGES, steps, 6., seed, 'any', 1.),
                      over_slider(steps, limits.max_steps), 0),
        lambda seed: ('generate', '/generate', (*generate, seed, 'any', 1.), None, NUM_IMAGES),
        lambda seed: (f'classify {too_wide}', '/classify', (sketch(inputs.too_wide), ),
                      too_wide_refusal, 0),
        lambda seed: ('repaint', '/repaint', (editor(inputs.picture), NUM_STEPS, 6., seed,
                                              'any', 1.), None, 2),
        lambda seed: (f'generate {images} images', '/generate',
                      (images, NUM_STEPS, 6., seed, 'any', 1.),
                      over_slider(images, limits.max_images), 0),
        lambda seed: ('classify', '/classify', (sketch(inputs.picture), ), None, 3),
        lambda seed: (f'repaint {too_wide}', '/repaint',
                      (editor(inputs.too_wide, brushed=False), NUM_STEPS, 6., seed, 'any', 1.),
                      too_wide_refusal, 0),
    ]
    return [LoadRequest(index, *cycle[index % len(cycle)](index)) for index in range(count)]


def judge(request: LoadRequest, answer: Any = None,
          error: Optional[BaseException] = None) -> Tuple[str, str]:
    """The verdict on ``request`` given its answer or the error it raised, and a message."""
    if isinstance(error, QueueError):
        return QUEUE_FULL, str(error)
    if isinstance(error, AppError):
        message = error.message
        if request.refusal is None:
            return WRONG, f'refused: {message}'
        if request.refusal not in message or '\n' in message:
            return WRONG, f'refused with {message!r}, not {request.refusal!r} in one line'
        return REFUSED, message
    if error is not None:
        return WRONG, f'{type(error).__name__}: {error}'
    if request.refusal is not None:
        return WRONG, f'answered, but should be refused with {request.refusal!r}'
    if request.api_name == '/generate':
        got = len(answer)
    elif request.api_name == '/repaint':
        got = sum(osp.isfile(path) for path in answer)
    else:
        got = len(answer['confidences'])
    if got != request.expected_outputs:
        return WRONG, f'answered with {got} outputs, expected {request.expected_outputs}'
    return ANSWERED, ''


def send(client: Client, request: LoadRequest, timeout: float) -> Outcome:
    """Sends ``request`` and waits at most ``timeout`` seconds for its answer or refusal."""
    start = time.perf_counter()
    try:
        answer = client.submit(*request.args, api_name=request.api_name).result(timeout)
        verdict, message = judge(request, answer)
    except Exception as err:  # noqa: BLE001 - every error is an outcome to report
        verdict, message = judge(request, error=err)
    return Outcome(request, time.perf_counter() - start, verdict, message)


def run_load(url: str, requests: Sequence[LoadRequest], num_clients: int, timeout: float,
             download_dir: str) -> LoadReport:
    """``num_clients`` clients, each on its own thread, send ``requests`` between them.

    Args:
        url (str): The served demo.
        requests (Sequence[LoadRequest]): Taken in order by whichever client is free.
        num_clients (int): Clients sending at once.
        timeout (float): Seconds the whole run may take; a request not answered by then is
            WRONG.
        download_dir (str): Where the clients save the images they receive.
    """
    clients = [new_client(url, download_dir) for _ in range(num_clients)]
    pending: 'queue.Queue[LoadRequest]' = queue.Queue()
    for request in requests:
        pending.put(request)
    outcomes: List[Outcome] = []
    outcomes_lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + timeout

    def work(client: Client) -> None:
        while True:
            try:
                request = pending.get_nowait()
            except queue.Empty:
                return
            outcome = send(client, request, max(0., deadline - time.perf_counter()))
            with outcomes_lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(client, ), daemon=True)
               for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0., deadline - time.perf_counter()) + 5.)
    seconds = time.perf_counter() - start
    with outcomes_lock:
        sent = {outcome.request.index for outcome in outcomes}
        outcomes = sorted(outcomes, key=lambda outcome: outcome.request.index) + [
            Outcome(request, seconds, WRONG, 'not answered within the run\'s time')
            for request in requests if request.index not in sent]
    return LoadReport(outcomes, seconds)


def resident_memory(pid: int) -> int:
    """The resident memory of process ``pid`` in bytes (Linux: /proc/PID/status VmRSS)."""
    try:
        with open(f'/proc/{pid}/status') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    raise InvalidInputError(f'cannot read the memory of process {pid} from /proc/{pid}/status:'
                            ' run the load test on Linux, with the server still running')


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float, log: str) -> None:
    """Returns once ``url`` answers; raises if the server exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            # launch.py ends on bad arguments (a missing checkpoint, say) with a one-line error.
            with open(log) as file:
                last_line = ([line.strip() for line in file if line.strip()] or [''])[-1]
            raise InvalidInputError(f'the server exited with code {server.returncode} before '
                                    f'it served: {last_line!r}; its log is {log}')
        try:
            with urllib.request.urlopen(f'{url}/config', timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            # Not listening yet: models load and Gradio starts first.
            time.sleep(0.5)
    raise InvalidInputError(f'the server did not answer within {timeout:.0f} s: raise '
                            f'--start-timeout, or see its log {log}')


def still_answers(client: Client) -> bool:
    """Whether the server answers an ordinary Generate request."""
    try:
        return len(client.predict(1, NUM_STEPS, 6., 0, 'any', 1., api_name='/generate')) == 1
    except Exception:  # noqa: BLE001 - any failure means it does not
        return False


def mib(num_bytes: float) -> str:
    return f'{num_bytes / 2**20:.1f} MiB'


def describe(report: LoadReport, num_clients: int) -> List[str]:
    """The report's lines: rate, slowest answer, counts and what went wrong."""
    slowest = report.slowest_answer
    lines = [
        f'{len(report.outcomes)} requests from {num_clients} clients in {report.seconds:.1f} s: '
        f'{report.requests_per_second:.2f} requests/s',
        'slowest answer: ' + (f'{slowest.seconds:.2f} s ({slowest.request.what})'
                              if slowest else 'none answered'),
        f'answered {report.count(ANSWERED)}, refused {report.count(REFUSED)} (each over a '
        f'limit, with its message), queue full {report.count(QUEUE_FULL)}, '
        f'wrong {report.count(WRONG)}',
    ]
    lines += [f'  wrong: #{outcome.request.index} {outcome.request.what}: {outcome.message}'
              for outcome in report.wrong]
    return lines


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='Arguments after -- go to launch.py; without them it serves tiny untrained '
        'models.')
    parser.add_argument('--clients', type=int, default=8, help='clients sending at once')
    parser.add_argument('--requests', type=int, default=50, help='requests in all')
    parser.add_argument('--timeout', type=float, default=600.,
                        help='seconds the load may take; requests unanswered by then fail')
    parser.add_argument('--start-timeout', type=float, default=300.,
                        help='seconds the server may take to load its models and start')
    parser.add_argument('--memory-tolerance', type=float, default=0.10,
                        help='how far, as a fraction, the server\'s memory at the end may be '
                        'from its memory after the warm-up')
    parser.add_argument('--work-dir', help='where the models, uploads and server log go '
                        '(default: a temporary folder)')
    parser.add_argument('launch_args', nargs='*', help='launch.py arguments, after --')
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        parser.error(f'--clients and --requests must be at least 1, got {args.clients} and '
                     f'{args.requests}')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix='addp_load_test_') as tmp:
        work_dir = args.work_dir or tmp
        os.makedirs(work_dir, exist_ok=True)
        return load_test(args, work_dir)


def load_test(args: argparse.Namespace, work_dir: str) -> int:
    launch_args = list(args.launch_args)
    if not launch_args:
        from projects.gradio_demo.addp_gradio.tiny_models import (
            launch_arguments,
            write_tiny_models,
        )
        models_dir = osp.join(work_dir, 'models')
        launch_args = launch_arguments(write_tiny_models(models_dir, ['unconditional']))
        print(f'models: tiny untrained digits models in {models_dir}')
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    log_path = osp.join(work_dir, 'server.log')
    with open(log_path, 'w') as log:
        server = subprocess.Popen(
            [sys.executable, LAUNCH, *launch_args, '--host', '127.0.0.1', '--port', str(port)],
            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_until_serving(url, server, args.start_timeout, log_path)
        print(f'server: pid {server.pid} at {url}; log {log_path}')
        downloads = osp.join(work_dir, 'downloads')
        client = new_client(url, downloads)
        # The server's own limits are DemoModels' defaults: launch.py does not change them.
        limits = DemoLimits()
        inputs = prepare_inputs(client, work_dir, limits)
        warm_up = run_load(url, build_requests(10, inputs, limits), 1, args.timeout, downloads)
        if warm_up.wrong:
            print('\n'.join(['the warm-up failed:'] + describe(warm_up, 1)[2:]))
            return 1
        memory_warm = resident_memory(server.pid)
        report = run_load(url, build_requests(args.requests, inputs, limits), args.clients,
                          args.timeout, downloads)
        memory_end = resident_memory(server.pid)
        still_up = server.poll() is None and still_answers(client)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    change = memory_end / memory_warm - 1
    lines = describe(report, args.clients) + [
        f'server memory (RSS): {mib(memory_warm)} after the warm-up, {mib(memory_end)} at the '
        f'end ({change:+.1%})',
        f'server still answering afterwards: {"yes" if still_up else "NO"}',
    ]
    print('\n'.join(lines))
    failures = []
    if report.wrong:
        failures.append(f'{len(report.wrong)} requests were neither answered nor refused with '
                        'their message')
    if abs(change) > args.memory_tolerance:
        failures.append(f'the server\'s memory moved {change:+.1%}, more than '
                        f'{args.memory_tolerance:.0%}')
    if not still_up:
        failures.append('the server stopped answering')
    for failure in failures:
        print(f'FAILED: {failure}')
    return 1 if failures else 0


if __name__ == '__main__':
    run_tool(main)
