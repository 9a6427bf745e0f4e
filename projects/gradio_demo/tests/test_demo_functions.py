"""The demo's three functions, in-process and through its HTTP API with gradio_client."""
import os

import gradio as gr
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from addp.errors import InputNotFoundError, InvalidInputError
from projects.gradio_demo.addp_gradio import SamplingOptions, build_app
from projects.gradio_demo.addp_gradio.app import editor_layers, enlarged, launch, shown_in_page
from projects.gradio_demo.addp_gradio.models import fit_to_strokes

FAST = SamplingOptions(num_steps=4)


def brush_box(shape, top, bottom, left, right):
    brush = np.zeros(shape[:2], dtype=bool)
    brush[top:bottom, left:right] = True
    return brush


def test_generate_draws_each_image_from_its_own_seeded_stream(unconditional_models):
    steps = []
    images = unconditional_models.generate(3, FAST, lambda done, total: steps.append(
        (done, total)))
    assert len(images) == 3
    assert all(image.shape == (32, 32, 3) and image.dtype == np.uint8 for image in images)
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # Image 1 does not depend on how many images were asked for; another seed changes it.
    np.testing.assert_array_equal(unconditional_models.generate(2, FAST)[1], images[1])
    other_seed = unconditional_models.generate(2, SamplingOptions(num_steps=4, seed=1))
    assert not np.array_equal(other_seed[1], images[1])


def test_generate_takes_a_class_and_guidance_only_on_a_conditional_model(
        conditional_models, unconditional_models):
    assert conditional_models.num_classes == 10
    assert unconditional_models.num_classes is None
    three = conditional_models.generate(2, SamplingOptions(num_steps=4, class_label=3,
                                                           cfg_scale=3.))
    seven = conditional_models.generate(2, SamplingOptions(num_steps=4, class_label=7,
                                                           cfg_scale=3.))
    assert not np.array_equal(three[0], seven[0])
    with pytest.raises(InvalidInputError, match='unconditional'):
        unconditional_models.generate(1, SamplingOptions(num_steps=4, class_label=3))
    with pytest.raises(InvalidInputError, match='at least one image'):
        unconditional_models.generate(0, FAST)


def test_repaint_replaces_the_brushed_pixels_only(unconditional_models):
    picture = enlarged(unconditional_models.generate(1, FAST)[0])
    assert picture.shape == (256, 256, 3)
    brush = brush_box(picture.shape, 40, 90, 100, 200)
    result = unconditional_models.repaint(picture, brush, SamplingOptions(num_steps=4, seed=5))
    assert result.image.shape == picture.shape
    np.testing.assert_array_equal(result.image[~brush], picture[~brush])
    assert (result.image[brush] != picture[brush]).any()
    np.testing.assert_array_equal(result.redone, brush)
    # Every 8 px model cell (64 px here) the brush touches is regenerated: rows 0-1, cols 1-3.
    expected = np.zeros((4, 4), dtype=bool)
    expected[0:2, 1:4] = True
    np.testing.assert_array_equal(result.tokens, expected)


@pytest.mark.parametrize('image_shape, brush_box_args, message', [
    ((256, 256, 3), (0, 0, 0, 0), 'brush layer is empty'),
    ((256, 256, 3), (0, 256, 0, 256), 'covers every part'),
    ((16, 16, 3), (0, 8, 0, 8), 'at least that large'),
    ((256, 320, 3), (0, 8, 0, 8), 'aspect ratio'),
])
def test_repaint_refuses_what_it_cannot_use(unconditional_models, image_shape, brush_box_args,
                                            message):
    picture = np.zeros(image_shape, dtype=np.uint8)
    with pytest.raises(InvalidInputError, match=message):
        unconditional_models.repaint(picture, brush_box(image_shape, *brush_box_args), FAST)


def test_classify_gives_three_classes_and_reads_digits_either_way_round(unconditional_models,
                                                                        digit_image):
    picture, _ = digit_image
    top3 = unconditional_models.classify(picture)
    assert len(top3) == 3 and len({name for name, _ in top3}) == 3
    probs = [p for _, p in top3]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
    assert all(name in [str(d) for d in range(10)] for name, _ in top3)
    # Dark strokes on white paper, or a small digit off-centre, read as the same digit.
    inverted = unconditional_models.classify(255 - picture)
    assert dict(inverted) == pytest.approx(dict(top3)) and inverted[0][0] == top3[0][0]
    small = np.zeros((512, 512, 3), dtype=np.uint8)
    small[20:276, 200:456] = picture
    assert [n for n, _ in unconditional_models.classify(small)] == [n for n, _ in top3]


def test_classify_names_classes_as_the_recipe_lists_them(make_models, digit_image, tmp_path):
    plain_models = make_models()
    names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine']
    config = tmp_path / 'named.py'
    config.write_text(f"_base_ = [{plain_models.classifier_config!r}]\n"
                      f"test_dataloader = dict(dataset=dict(classes={names!r}))\n")
    named = make_models(classifier_config=str(config)).classify(digit_image[0])
    plain = plain_models.classify(digit_image[0])
    assert [n for n, _ in named] == [names[int(n)] for n, _ in plain]


def test_fit_to_strokes_centres_the_drawing_in_a_square_with_a_margin():
    drawing = np.zeros((100, 200), dtype=np.uint8)
    drawing[10:30, 150:190] = 255
    fitted = np.asarray(fit_to_strokes(Image.fromarray(drawing)))
    assert fitted.shape == (52, 52)  # 40 px of strokes and 15% on each side
    rows, cols = np.nonzero(fitted)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (16, 35, 6, 45)
    blank = Image.new('L', (10, 10))
    assert fit_to_strokes(blank) is blank


def test_missing_files_are_messages_that_say_what_to_run(make_models, demo_files, tmp_path):
    models = make_models(addp_checkpoint=str(tmp_path / 'none.pth'),
                         classifier_checkpoint=str(tmp_path / 'run'))
    with pytest.raises(InputNotFoundError, match='none.pth.*tools/run_demo.sh'):
        models.generate(1, FAST)
    no_tokenizer = make_models(
        cfg_options={'model.tokenizer.checkpoint': str(tmp_path / 'tokenizer.ckpt')})
    with pytest.raises(InputNotFoundError, match='not found.*tokenizer.ckpt'):
        no_tokenizer.generate(1, FAST)
    with pytest.raises(InputNotFoundError, match='classifier checkpoint.*run'):
        models.classify(np.zeros((32, 32, 3), np.uint8))
    # The page still builds, and says what is missing.
    app = build_app(models)
    status = next(block for block in app.blocks.values() if block.elem_id == 'status')
    assert 'unavailable' in status.value and 'none.pth' in status.value
    # A work dir is read through its last_checkpoint file.
    (tmp_path / 'run').mkdir()
    (tmp_path / 'run' / 'last_checkpoint').write_text(demo_files['classifier'])
    assert len(models.classify(np.zeros((32, 32, 3), np.uint8))) == 3


def test_errors_reach_the_page_as_one_line():
    @shown_in_page
    def bad_input():
        raise InvalidInputError('the brush layer is empty: brush over the part to repaint')

    @shown_in_page
    def bug():
        raise KeyError('layers')

    with pytest.raises(gr.Error) as known:
        bad_input()
    assert known.value.message == 'the brush layer is empty: brush over the part to repaint'
    with pytest.raises(gr.Error) as unknown:
        bug()
    assert unknown.value.message.startswith("KeyError: 'layers'")


def test_editor_layers_unite_the_brush_alpha_and_blacken_transparency():
    background = np.full((4, 4, 4), 200, dtype=np.uint8)
    background[..., 3] = 255
    background[0, 0, 3] = 0
    stroke_a, stroke_b = np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8)
    stroke_a[1, 1, 3] = 255
    stroke_b[2, 3, 3] = 10
    picture, brush = editor_layers(dict(background=background, layers=[stroke_a, stroke_b]))
    assert picture.shape == (4, 4, 3) and picture[0, 0].tolist() == [0, 0, 0]
    assert picture[3, 3].tolist() == [200, 200, 200]
    assert sorted(zip(*np.nonzero(brush))) == [(1, 1), (2, 3)]
    with pytest.raises(gr.Error, match='no image to repaint'):
        editor_layers(None)


def test_the_page_is_offline_and_local(unconditional_models, monkeypatch):
    assert os.environ['GRADIO_ANALYTICS_ENABLED'] == 'False'
    app = build_app(unconditional_models)
    assert app.analytics_enabled is False
    seen = {}
    monkeypatch.setattr(gr.Blocks, 'launch', lambda self, **kwargs: seen.update(kwargs))
    launch(app, port=1234)
    assert seen['share'] is False and seen['server_name'] == '127.0.0.1'
    assert seen['server_port'] == 1234 and seen['inbrowser'] is False


def test_the_http_api_serves_the_three_functions(conditional_models, digit_image, served,
                                                 tmp_path):
    picture, _ = digit_image
    with served(conditional_models) as url:
        client = Client(url, verbose=False, analytics_enabled=False,
                        download_files=str(tmp_path))
        gallery = client.predict(3, 4, 6., 0, '5', 3., api_name='/generate')
        sizes = [Image.open(item['image']).size for item in gallery]
        assert sizes == [(32, 32)] * 3
        direct = conditional_models.generate(3, SamplingOptions(num_steps=4, class_label=5,
                                                                cfg_scale=3.))
        served_first = np.asarray(Image.open(gallery[0]['image']).convert('RGB'))
        np.testing.assert_array_equal(served_first, direct[0])

        Image.fromarray(enlarged(direct[0])).save(tmp_path / 'picture.png')
        layer = np.zeros((256, 256, 4), np.uint8)
        layer[0:64, 0:128, 3] = 255
        Image.fromarray(layer).save(tmp_path / 'brush.png')
        editor = dict(background=handle_file(str(tmp_path / 'picture.png')),
                      layers=[handle_file(str(tmp_path / 'brush.png'))], composite=None)
        repainted, redone = client.predict(editor, 4, 6., 0, 'any', 1., api_name='/repaint')
        repainted = np.asarray(Image.open(repainted).convert('RGB'))
        redone = np.asarray(Image.open(redone).convert('L')) > 127
        before = enlarged(direct[0])
        np.testing.assert_array_equal(redone, layer[..., 3] > 0)
        np.testing.assert_array_equal(repainted[~redone], before[~redone])
        assert (repainted[redone] != before[redone]).any()

        Image.fromarray(picture).save(tmp_path / 'digit.png')
        sketch = dict(background=handle_file(str(tmp_path / 'digit.png')), layers=[],
                      composite=handle_file(str(tmp_path / 'digit.png')))
        label = client.predict(sketch, api_name='/classify')
        confidences = {c['label']: c['confidence'] for c in label['confidences']}
        assert confidences == pytest.approx(dict(conditional_models.classify(picture)))

        empty_brush = dict(editor, layers=[])
        with pytest.raises(AppError, match='brush layer is empty'):
            client.predict(empty_brush, 4, 6., 0, 'any', 1., api_name='/repaint')
