"""Tiny untrained models for the web demo's tests, and a way to serve the page."""
import contextlib
import socket

import numpy as np
import pytest

from projects.gradio_demo.addp_gradio import DemoModels, build_app, launch
from projects.gradio_demo.addp_gradio.tiny_models import (
    ADDP_CONFIGS,
    CLASSIFIER_CONFIG,
    write_tiny_models,
)


@pytest.fixture(scope='session')
def demo_files(tmp_path_factory):
    """Random-weight digits models: ADDP unconditional and class-conditional, each with its
    tokenizer, and a classifier whose head is initialised broadly enough to prefer classes."""
    return write_tiny_models(str(tmp_path_factory.mktemp('demo_models')))


@pytest.fixture(scope='session')
def make_models(demo_files):
    """``make_models(kind='unconditional', **overrides)``: a DemoModels on the tiny files."""
    def make(kind: str = 'unconditional', **overrides) -> DemoModels:
        files = demo_files[kind]
        options = dict(addp_config=ADDP_CONFIGS[kind], addp_checkpoint=files['addp'],
                       classifier_config=CLASSIFIER_CONFIG,
                       classifier_checkpoint=demo_files['classifier'],
                       cfg_options={'model.tokenizer.checkpoint': files['tokenizer']},
                       digit_grid=8)
        options.update(overrides)
        return DemoModels(**options)
    return make


@pytest.fixture(scope='session')
def conditional_models(make_models):
    return make_models('conditional')


@pytest.fixture(scope='session')
def unconditional_models(make_models):
    return make_models('unconditional')


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _served(models: DemoModels, **launch_options):
    app = build_app(models)
    _, url, _ = launch(app, port=free_port(), block=False, **launch_options)
    try:
        yield url
    finally:
        app.close()


@pytest.fixture(scope='session')
def served():
    """``with served(models, **launch_options) as url``: the demo page on a free local port."""
    return _served


@pytest.fixture(scope='session')
def digit_image():
    """A real test digit (scikit-learn's), white on black, upsampled to 256 px."""
    from addp.datasets.digits import load_digits_split, upsample_digit
    _, test_x, _, test_y = load_digits_split()
    return np.asarray(upsample_digit(test_x[0], 256).convert('RGB')), int(test_y[0])


def pytest_configure(config):
    # pytest-xdist registers this marker; without it (-p no:xdist) --strict-markers refuses it.
    config.addinivalue_line('markers', 'xdist_group(name): tests that share one xdist worker')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, for fixtures that act on failures."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f'rep_{report.when}', report)
