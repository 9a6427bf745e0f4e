"""The demo under load: one queue for the model, the limits, and a small load over HTTP."""
import threading
import time

import gradio as gr
import httpx
import numpy as np
import pytest
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError, Status

from addp.errors import InvalidInputError
from projects.gradio_demo.addp_gradio import DemoLimits, SamplingOptions, build_app
from projects.gradio_demo.addp_gradio.app import MAX_FILE_SIZE, MAX_QUEUE, MODEL_QUEUE, launch
from projects.gradio_demo.tools.load_test import (
    ANSWERED,
    REFUSED,
    build_requests,
    new_client,
    prepare_inputs,
    run_load,
    still_answers,
)

MODEL_EVENTS = ('generate', 'repaint', 'classify')
# Long enough for anything here to finish on a slow shared machine; only a failure waits it.
WAIT = 60


def wait_for_status(job, status: Status) -> None:
    """Returns once ``job`` reports ``status``; fails after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while job.status().code != status:
        assert time.monotonic() < deadline, f'the job is {job.status().code}, not {status}'
        time.sleep(0.01)


def test_the_model_events_share_one_queue_of_one(unconditional_models, monkeypatch):
    app = build_app(unconditional_models)
    events = {fn.api_name: fn for fn in app.fns.values() if isinstance(fn.api_name, str)}
    for name in MODEL_EVENTS:
        assert (events[name].concurrency_id, events[name].concurrency_limit) == (MODEL_QUEUE, 1)
    # Sending a sample to Repaint and switching tabs do not wait for the model.
    others = [fn for fn in app.fns.values() if fn.api_name not in MODEL_EVENTS]
    assert others and all(fn.concurrency_id != MODEL_QUEUE for fn in others)
    seen = {}
    monkeypatch.setattr(gr.Blocks, 'launch', lambda self, **kwargs: seen.update(kwargs))
    launch(app, port=1234)
    assert app._queue.max_size == MAX_QUEUE == 16
    assert seen['max_file_size'] == MAX_FILE_SIZE == '16mb'


def test_the_sliders_end_at_the_limits(make_models):
    limits = DemoLimits(max_steps=8, max_images=5, max_image_side=300)
    app = build_app(make_models(limits=limits))
    sliders = {block.elem_id: block for block in app.blocks.values()
               if isinstance(block, gr.Slider) and block.elem_id}
    assert sliders['generate-steps'].maximum == sliders['repaint-steps'].maximum == 8
    assert sliders['generate-count'].maximum == 5
    texts = [block.value for block in app.blocks.values() if isinstance(block, gr.Markdown)]
    assert sum('Images up to 300 pixels a side.' in text for text in texts) == 2


@pytest.mark.parametrize('call, message', [
    (lambda m: m.generate(6, SamplingOptions(num_steps=4)),
     'at most 5 images at a time, got 6: ask for fewer'),
    (lambda m: m.generate(1, SamplingOptions(num_steps=9)),
     'steps must be 1 to 8, got 9: pick a number in that range'),
    (lambda m: m.generate(1, SamplingOptions(num_steps=0)),
     'steps must be 1 to 8, got 0: pick a number in that range'),
    (lambda m: m.repaint(np.zeros((256, 256, 3), np.uint8), np.ones((256, 256), bool),
                         SamplingOptions(num_steps=9)),
     'steps must be 1 to 8, got 9: pick a number in that range'),
    (lambda m: m.repaint(np.zeros((301, 301, 3), np.uint8), np.ones((301, 301), bool),
                         SamplingOptions(num_steps=4)),
     'the image is 301x301 pixels, over the limit of 300 pixels a side: scale it down to fit '
     '300x300'),
    (lambda m: m.classify(np.zeros((10, 301, 3), np.uint8)),
     'the image is 301x10 pixels, over the limit of 300 pixels a side: scale it down to fit '
     '300x300'),
])
def test_each_limit_is_refused_in_one_line_before_the_model_loads(make_models, tmp_path, call,
                                                                  message):
    # With no model files, anything that got as far as loading a model would fail on that.
    models = make_models(addp_checkpoint=str(tmp_path / 'none.pth'),
                         classifier_checkpoint=str(tmp_path / 'none.pth'),
                         limits=DemoLimits(max_steps=8, max_images=5, max_image_side=300))
    with pytest.raises(InvalidInputError) as refusal:
        call(models)
    assert str(refusal.value) == message


def test_requests_at_the_limits_are_answered(make_models):
    models = make_models(limits=DemoLimits(max_steps=4, max_images=2, max_image_side=256))
    assert len(models.generate(2, SamplingOptions(num_steps=4))) == 2
    brush = np.zeros((256, 256), bool)
    brush[:64] = True
    repainted = models.repaint(np.zeros((256, 256, 3), np.uint8), brush,
                               SamplingOptions(num_steps=4))
    assert repainted.image.shape == (256, 256, 3)
    assert len(models.classify(np.full((256, 256, 3), 255, np.uint8))) == 3


def test_one_inference_at_a_time_from_any_number_of_threads(make_models, digit_image):
    models = make_models()
    picture, _ = digit_image
    models.classify(picture)  # loaded now, so that a classification takes milliseconds
    events, inside, release = [], threading.Event(), threading.Event()

    def generate_step(done: int, total: int) -> None:
        events.append(f'generate step {done}/{total}')
        if done == 1:
            inside.set()
            release.wait(WAIT)

    def classify() -> None:
        models.classify(picture)
        events.append('classified')

    generating = threading.Thread(
        target=models.generate, args=(1, SamplingOptions(num_steps=3), generate_step))
    generating.start()
    assert inside.wait(WAIT)
    classifying = threading.Thread(target=classify)
    classifying.start()
    # A second in which an unguarded classification would finish in the middle of Generate.
    classifying.join(1.)
    assert classifying.is_alive()
    release.set()
    generating.join(WAIT)
    classifying.join(WAIT)
    assert events == ['generate step 1/3', 'generate step 2/3', 'generate step 3/3',
                      'classified']


def test_a_full_queue_refuses_the_next_request(make_models, digit_image, served, tmp_path):
    models = make_models()
    models.classify(digit_image[0])
    inside, release = threading.Event(), threading.Event()

    def hold_the_model(done: int, total: int) -> None:
        inside.set()
        release.wait(WAIT)

    # A Python caller holds the model, so the first request over HTTP cannot finish.
    holder = threading.Thread(target=models.generate,
                              args=(1, SamplingOptions(num_steps=1), hold_the_model))
    holder.start()
    try:
        assert inside.wait(WAIT)
        with served(models, max_queue=1) as url:
            client = new_client(url, str(tmp_path))
            running = client.submit(1, 2, 6., 0, 'any', 1., api_name='/generate')
            wait_for_status(running, Status.PROCESSING)
            sketch = dict(background=None, layers=[], composite=None)
            waiting = client.submit(sketch, api_name='/classify')
            wait_for_status(waiting, Status.IN_QUEUE)
            refused = client.submit(1, 2, 6., 0, 'any', 1., api_name='/generate')
            with pytest.raises(QueueError, match='Queue is full'):
                refused.result(WAIT)
            release.set()
            assert len(running.result(WAIT)) == 1
            # The queued request ran after all: its refusal is the function's own.
            with pytest.raises(AppError, match='draw or upload a digit first'):
                waiting.result(WAIT)
    finally:
        release.set()
        holder.join(WAIT)


def test_the_server_refuses_an_upload_over_the_file_size_limit(unconditional_models, served):
    with served(unconditional_models, max_file_size='1kb') as url:
        upload = f'{url.rstrip("/")}/gradio_api/upload'
        refused = httpx.post(upload, files={'files': ('big.png', b'x' * 1025)})
        accepted = httpx.post(upload, files={'files': ('small.png', b'x' * 1000)})
    assert refused.status_code == 413
    assert 'File size exceeded maximum allowed size of 1024 bytes' in refused.text
    assert accepted.status_code == 200


def test_a_small_load_is_answered_or_refused_and_the_server_stays_up(make_models, served,
                                                                     tmp_path):
    models = make_models()
    with served(models) as url:
        client = new_client(url, str(tmp_path))
        inputs = prepare_inputs(client, str(tmp_path), models.limits)
        requests = build_requests(12, inputs, models.limits)
        report = run_load(url, requests, 4, WAIT, str(tmp_path))
        assert [outcome.request.index for outcome in report.outcomes] == list(range(12))
        assert [outcome.verdict for outcome in report.outcomes] == [
            ANSWERED, ANSWERED, ANSWERED, REFUSED, ANSWERED, REFUSED, ANSWERED, REFUSED,
            ANSWERED, REFUSED, ANSWERED, ANSWERED], [o.message for o in report.wrong]
        too_wide = ('the image is 4097x8 pixels, over the limit of 4096 pixels a side: scale it '
                    'down to fit 4096x4096')
        assert {outcome.request.what: outcome.message for outcome in report.outcomes
                if outcome.verdict == REFUSED} == {
            'generate 65 steps': 'Value 65 is greater than maximum value 64.',
            'classify 4097x8': too_wide,
            'generate 65 images': 'Value 65 is greater than maximum value 64.',
            'repaint 4097x8': too_wide,
        }
        assert report.slowest_answer.seconds < WAIT
        assert still_answers(client)
