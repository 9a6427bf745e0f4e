"""Sampling and editing canvases of tools/generate.py, on the tiny random model."""
import copy
import math

import numpy as np
import pytest
import torch
from PIL import Image

from addp.apis import (
    blank_canvas,
    edit_canvas,
    image_generator,
    parse_keep_box,
    sample_images,
    sampling_image_size,
    token_keep_mask,
)
from addp.models.sampling import ADDPSampler
from addp.registry import MODELS

# 64 tokens, 8 steps: ceil(64 * ratio((s + 1) / 8)), at least 1, worked out by hand.
EXPECTED_MASKED = {
    'cosine': [63, 60, 54, 46, 36, 25, 13, 1],
    'linear': [56, 48, 40, 32, 24, 16, 8, 1],
}


@pytest.fixture
def model(tiny_model):
    return tiny_model.eval()


@pytest.fixture
def photo(tmp_path):
    """A 64 x 64 image with structure, so that its tokens vary."""
    yy, xx = np.mgrid[0:64, 0:64]
    rgb = np.stack([xx * 4, yy * 4, (xx + yy) * 2], axis=-1).astype(np.uint8)
    path = tmp_path / 'photo.png'
    Image.fromarray(rgb).save(path)
    return str(path)


def _run_steps(model, sampler, canvas, batch=2, seed=0):
    """Every intermediate state of sampling ``batch`` images from ``canvas``."""
    token_ids = canvas.token_ids.expand(batch, -1)
    mask = canvas.mask.expand(batch, -1)
    generators = [image_generator(seed, i) for i in range(batch)]
    state = sampler.initial_state(model, token_ids, mask, canvas.image_size)
    num_unknown = state.mask.sum(dim=1)
    states = []
    for step in range(sampler.num_steps):
        state = sampler.step(model, state, step, num_unknown, generators)
        states.append(state)
    return states


@pytest.mark.parametrize('schedule', ['cosine', 'linear'])
def test_masked_counts_per_step_from_blank_canvas(model, schedule):
    canvas = blank_canvas(64, sampling_image_size(model))
    states = _run_steps(model, ADDPSampler(num_steps=8, schedule=schedule), canvas)
    for state in states:
        assert state.mask.sum(dim=1).tolist() == [state.mask[0].sum().item()] * 2
    assert [int(s.mask[0].sum()) for s in states] == EXPECTED_MASKED[schedule]


@pytest.mark.parametrize('schedule', ['cosine', 'linear'])
def test_editing_schedule_counts_only_generated_tokens(model, photo, schedule):
    # Keeping the top quarter (rows 0-1 of the 8 x 8 grid) leaves 48 tokens to generate.
    canvas = edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(0, 0, 64, 16))
    assert int(canvas.mask.sum()) == 48
    states = _run_steps(model, ADDPSampler(num_steps=8, schedule=schedule), canvas)
    ratio = {'cosine': lambda r: math.cos(math.pi / 2 * r), 'linear': lambda r: 1 - r}[schedule]
    expected = [max(1, math.ceil(48 * ratio((s + 1) / 8))) for s in range(8)]
    assert [int(s.mask[0].sum()) for s in states] == expected


def test_kept_tokens_never_change_or_get_masked(model, photo):
    canvas = edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(16, 16, 48, 48))
    kept = ~canvas.mask[0]
    for state in _run_steps(model, ADDPSampler(num_steps=6), canvas, batch=3):
        assert not state.mask[:, kept].any()
        assert torch.equal(state.token_ids[:, kept], canvas.token_ids[:, kept].expand(3, -1))
    # The generated part did change: sampling is not a no-op.
    assert (state.token_ids[:, ~kept] != canvas.token_ids[:, ~kept]).any()


def test_keep_box_maps_to_the_tokens_it_covers(model, photo):
    # The 64 px image is halved to 32 px, so the box covers pixels 8-24: token rows/cols 2-5.
    canvas = edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(16, 16, 48, 48))
    kept = set(torch.nonzero(~canvas.mask[0]).flatten().tolist())
    assert kept == {r * 8 + c for r in range(2, 6) for c in range(2, 6)}
    # The box's tokens hold the image's own tokens.
    pixels = torch.from_numpy(np.asarray(Image.open(photo).resize((32, 32), Image.BICUBIC)))
    own_ids, _ = model.tokenizer.encode(pixels.permute(2, 0, 1)[None].float() / 255.)
    assert (canvas.token_ids[0, sorted(kept)] == own_ids[0, sorted(kept)]).float().mean() > 0.9


@pytest.mark.parametrize('x1, kept_columns', [(18, 2), (22, 3)])
def test_a_token_is_kept_when_half_its_cell_is(model, photo, x1, kept_columns):
    # x1 = 18 keeps a quarter of column 2's cell at 32 px, x1 = 22 three quarters.
    canvas = edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(0, 0, x1, 64))
    kept = (~canvas.mask[0]).view(8, 8)
    assert kept[:, :kept_columns].all() and not kept[:, kept_columns:].any()


@pytest.mark.parametrize('min_kept_fraction, kept_columns',
                         [(0.5, 3), (0.75, 3), (0.8, 2), (1.0, 2)])
def test_a_stricter_keep_fraction_regenerates_every_touched_cell(min_kept_fraction, kept_columns):
    # Pixel columns 0-21 of 32 kept, 8 px per token: token columns 0 and 1 are kept whole,
    # column 2 (px 16-23) three quarters, column 3 not at all.
    keep = np.zeros((32, 32), dtype=bool)
    keep[:, :22] = True
    tokens = token_keep_mask(keep, (32, 32), 8, min_kept_fraction).view(4, 4)
    assert tokens[:, :kept_columns].all() and not tokens[:, kept_columns:].any()


def test_sampling_reports_each_step(model):
    steps = []
    canvas = blank_canvas(model.neck.num_patches, (32, 32))
    sample_images(model, ADDPSampler(num_steps=3), canvas, [0], seed=0,
                  on_step=lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]


def test_mask_file_keeps_white_pixels(model, photo, tmp_path):
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask).save(tmp_path / 'mask.png')
    canvas = edit_canvas(model.tokenizer, photo, (32, 32), mask_path=str(tmp_path / 'mask.png'))
    kept = (~canvas.mask[0]).view(8, 8)
    assert kept[:, 4:].all() and not kept[:, :4].any()


def test_bad_edit_inputs_are_named(model, photo, tmp_path):
    Image.fromarray(np.zeros((20, 30), dtype=np.uint8)).save(tmp_path / 'small.png')
    with pytest.raises(ValueError, match='30x20.*64x64'):
        edit_canvas(model.tokenizer, photo, (32, 32), mask_path=str(tmp_path / 'small.png'))
    with pytest.raises(ValueError, match='inside the 64x64'):
        edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(0, 0, 65, 10))
    with pytest.raises(ValueError, match='covers no token'):
        edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(0, 0, 2, 2))
    with pytest.raises(ValueError, match='covers every token'):
        edit_canvas(model.tokenizer, photo, (32, 32), keep_box=(0, 0, 64, 64))
    with pytest.raises(ValueError, match='x0,y0,x1,y1'):
        parse_keep_box('1,2,3')


def test_images_do_not_depend_on_batch_size(model):
    canvas = blank_canvas(64, (32, 32))
    sampler = ADDPSampler(num_steps=5)
    whole = sample_images(model, sampler, canvas, list(range(5)), seed=7)
    parts = [sample_images(model, sampler, canvas, idx, seed=7) for idx in ([0, 1], [2, 3, 4])]
    alone = sample_images(model, sampler, canvas, [3], seed=7)
    assert torch.equal(torch.cat([p.token_ids for p in parts]), whole.token_ids)
    torch.testing.assert_close(torch.cat([p.pixels for p in parts]), whole.pixels,
                               atol=1e-4, rtol=0)
    assert torch.equal(alone.token_ids[0], whole.token_ids[3])
    other_seed = sample_images(model, sampler, canvas, list(range(5)), seed=8)
    assert not torch.equal(other_seed.token_ids, whole.token_ids)


def test_image_streams_differ_by_seed_and_index():
    draws = {(s, i): torch.rand(4, generator=image_generator(s, i)) for s in (0, 1)
             for i in (0, 1)}
    assert torch.equal(draws[0, 1], torch.rand(4, generator=image_generator(0, 1)))
    values = list(draws.values())
    assert all(not torch.equal(a, b) for k, a in enumerate(values) for b in values[k + 1:])


def test_model_whose_parts_disagree_on_image_size_is_refused(tiny_cfg):
    # Tokens and decoder: refused when the model is built.
    cfg = copy.deepcopy(tiny_cfg)
    cfg['token_predictor'] = None
    cfg['backbone']['img_size'] = 48
    with pytest.raises(ValueError, match='decoder config .* tokens per image 144 vs 64'):
        MODELS.build(cfg)
    cfg = copy.deepcopy(tiny_cfg)
    cfg['token_predictor'] = None
    cfg['tokenizer'].update(ch_mult=[1, 1], checkpoint=None)
    with pytest.raises(ValueError, match='tokens per image 256 vs 64'):
        MODELS.build(cfg)
    # Encoder patches and tokens: refused before sampling.
    cfg = copy.deepcopy(tiny_cfg)
    cfg['token_predictor'] = None
    cfg['backbone']['patch_size'] = 8
    with pytest.raises(ValueError, match=r'\(8, 8\) token grid .* \(4, 4\) patch grid'):
        sampling_image_size(MODELS.build(cfg))
