"""The web page: Generate, Repaint and Classify tabs over one :class:`DemoModels`.

Everything is served from this machine: analytics are off, the fonts are the ones bundled
with Gradio, and nothing is shared through Gradio's tunnel.

Under load, the three tabs wait in one queue for the model: one request runs at a time, at
most ``MAX_QUEUE`` wait, and a request beyond that is refused with Gradio's "queue is full"
message. What one request may ask is :class:`DemoLimits`, held in :class:`DemoModels`.
"""
import functools
import logging
import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

# Gradio reads this when it is imported.
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from addp.errors import ADDPError  # noqa: E402

from .models import DemoModels, SamplingOptions  # noqa: E402

logger = logging.getLogger(__name__)

ANY_CLASS = 'any'
# The concurrency group of every event that runs the model; it runs one event at a time.
MODEL_QUEUE = 'model'
# Requests that may wait for the model; one more is refused, so a flood cannot pile up.
MAX_QUEUE = 16
# The largest upload Gradio accepts, checked as the file arrives (before it is decoded).
MAX_FILE_SIZE = '16mb'
# A generated image is shown at least this many pixels wide in the Repaint editor.
EDITOR_MIN_SIDE = 256
# Tiny images stay sharp when the browser scales them up.
CSS = '.pixelated img, .pixelated canvas { image-rendering: pixelated; }'


def shown_in_page(function: Callable) -> Callable:
    """Turns an error into a one-line message in the page instead of a stack trace.

    An :class:`ADDPError` is a problem with what was given, and its message says the fix;
    anything else is logged with its traceback on the server and named in the page.
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except gr.Error:
            raise
        except ADDPError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception as err:  # noqa: BLE001 - the page gets one line, the log the rest
            logger.exception('the demo failed')
            raise gr.Error(f'{type(err).__name__}: {err} (the server log has the details)',
                           print_exception=False) from None
    return wrapper


def sampling_options(steps: float, temperature: float, seed: float, class_name: Optional[str],
                     cfg_scale: Optional[float]) -> SamplingOptions:
    """The UI's values as sampler options; the guidance scale counts only with a class."""
    class_label = None if class_name in (None, '', ANY_CLASS) else int(class_name)
    return SamplingOptions(num_steps=int(steps), temperature=float(temperature), seed=int(seed),
                           class_label=class_label,
                           cfg_scale=1.0 if class_label is None else float(cfg_scale or 1.0))


def progress_callback(progress: gr.Progress) -> Callable[[int, int], None]:
    return lambda done, total: progress((done, total), desc='denoising')


def editor_layers(value: Optional[Dict[str, Any]],
                  check_size: Optional[Callable[[int, int], None]] = None
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """An ``ImageEditor`` value as the picture (H, W, 3) uint8 and the brush (H, W) bool: the
    union of the brush layers' alpha.

    Args:
        value (dict, optional): The editor's background, layers and composite.
        check_size (callable, optional): ``check_size(height, width)`` refuses a picture too
            large, before anything is computed from it.
    """
    if not value or value.get('background') is None:
        raise gr.Error('no image to repaint: upload one, or generate and send one here',
                       print_exception=False)
    if check_size is not None:
        check_size(*np.shape(value['background'])[:2])
    picture = opaque_rgb(value['background'])
    brush = np.zeros(picture.shape[:2], dtype=bool)
    for layer in value.get('layers') or []:
        layer = np.asarray(layer)
        if layer.shape[:2] != brush.shape:
            raise gr.Error(f'the brush layer is {layer.shape[1]}x{layer.shape[0]} but the image '
                           f'is {brush.shape[1]}x{brush.shape[0]}', print_exception=False)
        brush |= (layer[..., 3] > 0) if layer.ndim == 3 and layer.shape[-1] == 4 else layer > 0
    return picture, brush


def enlarged(image: np.ndarray, min_side: int = EDITOR_MIN_SIDE) -> np.ndarray:
    """``image`` scaled up by a whole factor (nearest) until its shorter side reaches
    ``min_side``, so that each model pixel is a block that a brush can hit."""
    factor = max(1, math.ceil(min_side / min(image.shape[:2])))
    return np.asarray(Image.fromarray(image).resize(
        (image.shape[1] * factor, image.shape[0] * factor), Image.NEAREST))


def load_and_describe(models: DemoModels) -> Tuple[Optional[int], str]:
    """Loads both models now, so that the first click is as fast as the others, and says in
    markdown what the page serves or why a tab cannot work.

    Returns:
        tuple: The ADDP model's class count (None if unconditional or missing), the status.
    """
    num_classes, lines = None, []
    try:
        num_classes = models.num_classes
        height, width = models.image_size
        kind = f'class-conditional over {num_classes} classes' if num_classes else 'unconditional'
        lines.append(f'ADDP `{models.addp_checkpoint}` generates {width}x{height} images '
                     f'({kind}).')
    except ADDPError as err:
        lines.append(f'**Generate and Repaint are unavailable:** {err}')
    try:
        num_labels = getattr(getattr(models.classifier, 'head', None), 'num_classes', None)
        lines.append(f'The classifier `{models.classifier_checkpoint}` ' +
                     (f'tells {num_labels} classes apart.' if num_labels else 'is loaded.'))
    except ADDPError as err:
        lines.append(f'**Classify is unavailable:** {err}')
    return num_classes, '\n\n'.join(lines)


def opaque_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W), (H, W, 3) or (H, W, 4) uint8 to (H, W, 3), transparent parts black."""
    image = np.asarray(image)
    if image.ndim == 2:
        return np.stack([image] * 3, axis=-1).astype(np.uint8)
    rgb = image[..., :3].astype(np.uint8)
    if image.shape[-1] == 4:
        rgb = (rgb * (image[..., 3:].astype(np.float32) / 255.)).round().astype(np.uint8)
    return rgb


def build_app(models: DemoModels, title: str = 'ADDP: one model that generates, repaints and '
              'recognises') -> gr.Blocks:
    """The demo's page.

    Args:
        models (DemoModels): What each tab runs.
        title (str): The page heading.
    """
    num_classes, status = load_and_describe(models)
    limits = models.limits
    class_choices = [ANY_CLASS] + [str(c) for c in range(num_classes or 0)]

    @shown_in_page
    def generate(num_images, steps, temperature, seed, class_name=None, cfg_scale=None,
                 progress=gr.Progress()) -> Tuple[List[Tuple[np.ndarray, str]], List[np.ndarray]]:
        options = sampling_options(steps, temperature, seed, class_name, cfg_scale)
        images = models.generate(int(num_images), options, progress_callback(progress))
        label = '' if options.class_label is None else f' · class {options.class_label}'
        captions = [f'#{i}{label}' for i in range(len(images))]
        return list(zip(images, captions)), images

    @shown_in_page
    def send_to_repaint(images: Optional[List[np.ndarray]], index: Optional[int]) -> Dict:
        if not images:
            raise gr.Error('generate some images first', print_exception=False)
        picture = enlarged(np.asarray(images[min(int(index or 0), len(images) - 1)]))
        return dict(background=picture, layers=[], composite=picture)

    @shown_in_page
    def repaint(editor_value, steps, temperature, seed, class_name=None, cfg_scale=None,
                progress=gr.Progress()) -> Tuple[np.ndarray, np.ndarray]:
        picture, brush = editor_layers(editor_value, models.check_image_size)
        options = sampling_options(steps, temperature, seed, class_name, cfg_scale)
        result = models.repaint(picture, brush, options, progress_callback(progress))
        return result.image, (result.redone * 255).astype(np.uint8)

    @shown_in_page
    def classify(editor_value) -> Dict[str, float]:
        if not editor_value or editor_value.get('composite') is None:
            raise gr.Error('draw or upload a digit first', print_exception=False)
        models.check_image_size(*np.shape(editor_value['composite'])[:2])
        picture = opaque_rgb(editor_value['composite'])
        if not picture.any():
            raise gr.Error('the canvas is empty: draw a digit, or upload one',
                           print_exception=False)
        return dict(models.classify(picture, top_k=3))

    def class_controls(prefix: str) -> Tuple[gr.Dropdown, gr.Slider]:
        conditional = bool(num_classes)
        dropdown = gr.Dropdown(class_choices, value=ANY_CLASS, label='class',
                               visible=conditional, elem_id=f'{prefix}-class',
                               info='the class to draw; "any" samples without a class')
        slider = gr.Slider(0., 8., value=3., step=0.5, label='guidance scale', visible=conditional,
                           elem_id=f'{prefix}-guidance',
                           info='classifier-free guidance; 1 is plain conditional sampling')
        return dropdown, slider

    def sampling_controls(prefix: str) -> Tuple[gr.Slider, gr.Slider, gr.Number]:
        steps = gr.Slider(1, limits.max_steps, value=min(16, limits.max_steps), step=1,
                          label='steps', elem_id=f'{prefix}-steps')
        temperature = gr.Slider(0., 12., value=6., step=0.5, label='temperature',
                                info='randomness in which tokens are kept at each step')
        seed = gr.Number(0, precision=0, label='seed', elem_id=f'{prefix}-seed')
        return steps, temperature, seed

    with gr.Blocks(title='ADDP demo', analytics_enabled=False) as app:
        gr.Markdown(f'# {title}\n{status}', elem_id='status')
        samples = gr.State([])
        selected = gr.State(0)
        with gr.Tabs() as tabs:
            with gr.Tab('Generate', id='generate'):
                with gr.Row():
                    with gr.Column(scale=1):
                        num_images = gr.Slider(1, limits.max_images,
                                               value=min(16, limits.max_images), step=1,
                                               label='number of images',
                                               elem_id='generate-count')
                        gen_controls = sampling_controls('generate')
                        gen_class = class_controls('generate')
                        generate_button = gr.Button('Generate', variant='primary',
                                                    elem_id='generate-button')
                    with gr.Column(scale=2):
                        gallery = gr.Gallery(label='samples', columns=4, format='png',
                                             object_fit='contain', allow_preview=False,
                                             elem_id='generate-output',
                                             elem_classes='pixelated')
                        send_button = gr.Button('Repaint the selected sample',
                                                elem_id='send-to-repaint')
            with gr.Tab('Repaint', id='repaint'):
                gr.Markdown('Brush over the part to redo. ADDP regenerates every token the '
                            'brush touches from the rest of the image; pixels outside the brush '
                            'stay as they are. Images up to '
                            f'{limits.max_image_side} pixels a side.')
                with gr.Row():
                    with gr.Column():
                        editor = gr.ImageEditor(
                            label='image and brush', type='numpy', image_mode='RGBA',
                            sources=('upload', 'clipboard'), format='png', transforms=(),
                            layers=False, brush=gr.Brush(colors=['#ff00ff'], default_size=32,
                                                         color_mode='fixed'),
                            canvas_size=(EDITOR_MIN_SIDE, EDITOR_MIN_SIDE),
                            elem_id='repaint-input', elem_classes='pixelated')
                        rep_controls = sampling_controls('repaint')
                        rep_class = class_controls('repaint')
                        repaint_button = gr.Button('Repaint', variant='primary',
                                                   elem_id='repaint-button')
                    with gr.Column():
                        repainted = gr.Image(label='repainted', format='png', type='numpy',
                                             interactive=False, elem_id='repaint-output',
                                             elem_classes='pixelated')
                        redone = gr.Image(label='pixels replaced (white)', format='png',
                                          type='numpy', interactive=False,
                                          elem_id='repaint-redone', elem_classes='pixelated')
            with gr.Tab('Classify', id='classify'):
                gr.Markdown(('Draw a digit (white on black) or upload one' if models.digit_grid
                             else 'Draw or upload an image') +
                            '; the encoder, fine-tuned, gives its three most likely classes. '
                            f'Images up to {limits.max_image_side} pixels a side.')
                with gr.Row():
                    sketch = gr.Sketchpad(
                        value=dict(background=np.zeros((256, 256, 3), np.uint8), layers=[],
                                   composite=None),
                        label='digit', type='numpy', image_mode='RGBA', sources=('upload', ),
                        format='png', canvas_size=(256, 256), layers=False,
                        brush=gr.Brush(colors=['#ffffff'], default_size=24, color_mode='fixed'),
                        elem_id='classify-input')
                    with gr.Column():
                        classify_button = gr.Button('Classify', variant='primary',
                                                    elem_id='classify-button')
                        top3 = gr.Label(num_top_classes=3, label='top 3',
                                        elem_id='classify-output')

        # The three share one queue for the model; the other events only move data around.
        one_at_a_time = dict(concurrency_id=MODEL_QUEUE, concurrency_limit=1)
        generate_button.click(generate, [num_images, *gen_controls, *gen_class],
                              [gallery, samples], api_name='generate', **one_at_a_time)
        gallery.select(_selected_index, None, selected, api_name=False)
        send_button.click(send_to_repaint, [samples, selected], editor, api_name=False).then(
            lambda: gr.Tabs(selected='repaint'), None, tabs, api_name=False)
        repaint_button.click(repaint, [editor, *rep_controls, *rep_class], [repainted, redone],
                             api_name='repaint', **one_at_a_time)
        classify_button.click(classify, sketch, top3, api_name='classify', **one_at_a_time)
    return app


def _selected_index(event: gr.SelectData) -> int:
    return int(event.index)


def launch(app: gr.Blocks, host: str = '127.0.0.1', port: Optional[int] = None,
           block: bool = True, max_queue: int = MAX_QUEUE,
           max_file_size: str = MAX_FILE_SIZE):
    """Serves ``app`` on this machine only (unless ``host`` says otherwise), never shared.

    Args:
        app (gr.Blocks): From :func:`build_app`.
        host (str): The address to serve on.
        port (int, optional): The port; None lets Gradio pick from 7860 up.
        block (bool): Serve until interrupted; false returns once the server is up.
        max_queue (int): Requests that may wait for the model; more are refused.
        max_file_size (str): The largest upload, e.g. ``'16mb'``.

    Returns:
        What ``Blocks.launch`` returns (app, local URL, share URL) when ``block`` is false.
    """
    return app.queue(default_concurrency_limit=1, max_size=max_queue).launch(
        server_name=host, server_port=port, share=False, inbrowser=False,
        prevent_thread_lock=not block, show_error=False, ssr_mode=False, quiet=not block,
        css=CSS, footer_links=['api'], max_file_size=max_file_size)
