"""Class-conditional parts, label dropout and classifier-free guidance."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from addp.engine import check_data_classes
from addp.models import MAGE, ADDPSampler
from addp.models.layers import NO_CLASS, drop_class_labels
from addp.models.sampling import TokenPredictorSamplingModel
from addp.registry import DATASETS, MODELS
from addp.testing import TINY_MAGE, TINY_VQGAN, tiny_addp_cfg

NUM_CLASSES = 10
CONDITIONAL = dict(class_conditional=True, num_classes=NUM_CLASSES)


def _conditional_model(vqgan_file, label_drop_prob=0.1):
    cfg = tiny_addp_cfg(vqgan_file, None)
    cfg['neck'].update(CONDITIONAL)
    cfg['token_predictor'].update(CONDITIONAL)
    cfg['label_drop_prob'] = label_drop_prob
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _samples(labels):
    return [DataSample().set_gt_label(int(label)) for label in labels]


def _canvas_state(model, batch=3):
    sampler = ADDPSampler(num_steps=4)
    torch.manual_seed(1)
    token_ids = torch.randint(0, 64, (batch, 64))
    mask = torch.zeros(batch, 64, dtype=torch.bool)
    mask[:, 20:] = True
    return sampler.initial_state(model, token_ids, mask, (32, 32))


def test_label_dropout_drops_the_share_it_should():
    labels = torch.arange(20000) % NUM_CLASSES
    generator = torch.Generator().manual_seed(0)
    dropped = drop_class_labels(labels, 0.1, generator) == NO_CLASS
    assert dropped.float().mean().item() == pytest.approx(0.1, abs=0.006)
    kept = ~dropped
    assert torch.equal(drop_class_labels(labels, 0.1, torch.Generator().manual_seed(0))[kept],
                       labels[kept])
    assert not (drop_class_labels(labels, 0.) == NO_CLASS).any()
    assert (drop_class_labels(labels, 1.) == NO_CLASS).all()
    with pytest.raises(ValueError, match='label_drop_prob'):
        drop_class_labels(labels, 1.5)


def test_the_label_changes_the_prediction_and_a_dropped_one_is_the_mask_token(
        tiny_frozen_files):
    model = _conditional_model(tiny_frozen_files['vqgan']).eval()
    state = _canvas_state(model)
    seven, three = torch.full((3, ), 7), torch.full((3, ), 3)
    logits = model.predict_token_logits(state.pixels, state.token_ids, state.mask, seven)
    assert not torch.allclose(logits, model.predict_token_logits(
        state.pixels, state.token_ids, state.mask, three))
    dropped = model.predict_token_logits(state.pixels, state.token_ids, state.mask,
                                         torch.full((3, ), NO_CLASS))
    assert torch.equal(dropped, model.predict_token_logits(state.pixels, state.token_ids,
                                                           state.mask))
    predictor = model.token_predictor
    ids = predictor.front_token_ids(2, torch.tensor([7, NO_CLASS]), torch.device('cpu'))
    assert ids.view(-1).tolist() == [64 + 7, predictor.mask_token_id]


def test_unconditional_parts_compute_as_before_and_refuse_labels(tiny_model):
    model = tiny_model.eval()
    predictor = model.token_predictor
    assert predictor.front_token_ids(2, None, torch.device('cpu')).view(-1).tolist() == [
        64 + 76] * 2
    state = _canvas_state(model, batch=2)
    with pytest.raises(ValueError, match='unconditional'):
        model.predict_token_logits(state.pixels, state.token_ids, state.mask,
                                   torch.tensor([1, 2]))
    with pytest.raises(ValueError, match='unconditional'):
        predictor.logits(state.token_ids, state.mask, labels=torch.tensor([1, 2]))


def test_training_reads_the_labels_and_drops_them_for_both_parts(tiny_frozen_files,
                                                                 monkeypatch):
    model = _conditional_model(tiny_frozen_files['vqgan'], label_drop_prob=0.5)
    seen = {}
    predictor_forward, neck_forward = model.token_predictor.forward, model.neck.forward

    def predictor_spy(token_ids, mask, labels=None):
        seen['predictor'] = labels
        return predictor_forward(token_ids, mask, labels)

    def neck_spy(features, token_ids, mask, labels=None, num_masked=None):
        seen['neck'] = labels
        return neck_forward(features, token_ids, mask, labels, num_masked)

    monkeypatch.setattr(model.token_predictor, 'forward', predictor_spy)
    monkeypatch.setattr(model.neck, 'forward', neck_spy)
    labels = torch.arange(8) % NUM_CLASSES
    torch.manual_seed(0)
    loss = model.loss(torch.rand(8, 3, 32, 32), _samples(labels))['loss']
    assert torch.isfinite(loss)
    neck_labels = seen['neck']
    dropped = neck_labels == NO_CLASS
    assert 0 < int(dropped.sum()) < 8  # 0.5 dropout on 8 labels, at this seed
    assert torch.equal(neck_labels[~dropped], labels[~dropped])
    # Both token-predictor passes see the same labels, dropped where the decoder's are.
    assert torch.equal(seen['predictor'], neck_labels.repeat(2))
    loss.backward()
    assert model.neck.token_embed.weight.grad[64:64 + NUM_CLASSES].abs().sum() > 0


def test_a_conditional_model_without_labels_in_the_data_says_how_to_get_them(
        tiny_frozen_files):
    model = _conditional_model(tiny_frozen_files['vqgan'])
    with pytest.raises(ValueError, match='with_label=True'):
        model.loss(torch.rand(2, 3, 32, 32), [DataSample(), DataSample()])


def _runner_over(model, classes):
    dataset = SimpleNamespace(metainfo=dict(classes=classes))
    return SimpleNamespace(model=model,
                           train_loop=SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset)))


def test_data_with_more_classes_than_the_model_is_refused_before_training(tiny_frozen_files,
                                                                         tiny_model):
    model = _conditional_model(tiny_frozen_files['vqgan'])
    check_data_classes(_runner_over(model, [str(c) for c in range(NUM_CLASSES)]))
    with pytest.raises(ValueError, match='the training data has 12 classes but the model knows '
                       '10; set num_classes'):
        check_data_classes(_runner_over(model, [str(c) for c in range(12)]))
    mage = MAGE(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
                token_predictor=dict(TINY_MAGE, num_patches=64, codebook_size=64,
                                     **CONDITIONAL), img_size=32)
    with pytest.raises(ValueError, match='12 classes'):
        check_data_classes(_runner_over(mage, [str(c) for c in range(12)]))
    # Unconditional models read no labels.
    check_data_classes(_runner_over(tiny_model, [str(c) for c in range(1000)]))
    # In the step, an unknown class stops at the device assertion, with the fix.
    with pytest.raises(RuntimeError, match='outside the model\'s classes 0-9'):
        model.loss(torch.rand(2, 3, 32, 32), _samples([1, 12]))


def test_parts_that_disagree_on_conditioning_are_refused(tiny_frozen_files):
    cfg = tiny_addp_cfg(tiny_frozen_files['vqgan'], None)
    cfg['neck'].update(CONDITIONAL)
    with pytest.raises(ValueError, match='class conditioning'):
        MODELS.build(cfg)


def test_the_conditional_token_predictor_trains_on_its_labels(tiny_frozen_files):
    torch.manual_seed(0)
    model = MAGE(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
                 token_predictor=dict(TINY_MAGE, num_patches=64, codebook_size=64,
                                      **CONDITIONAL),
                 img_size=32, label_drop_prob=0.)
    model.init_weights()
    model.loss(torch.rand(4, 3, 32, 32), _samples([1, 2, 3, 4]))['loss'].backward()
    grad = model.token_predictor.token_emb.word_embeddings.weight.grad
    assert grad[64 + 1:64 + 5].abs().sum(-1).gt(0).all()  # the four labels' slots
    assert grad[64 + 5:64 + NUM_CLASSES].abs().sum() == 0  # classes not in the batch


@pytest.mark.parametrize('schedule', ['constant', 'linear'])
def test_guidance_is_the_formula_over_one_encoder_pass(tiny_frozen_files, schedule):
    model = _conditional_model(tiny_frozen_files['vqgan']).eval()
    state = _canvas_state(model)
    labels = torch.tensor([0, 7, 9])
    # The two-pass reference, from the parts: the encoder once per pass, the decoder with the
    # labels and with none.
    with torch.no_grad():
        passes = [model.neck(model.extract_feat(state.pixels), state.token_ids, state.mask,
                             rows).code_logits for rows in (labels, None)]
    cond, uncond = passes
    encoder_batches, decoder_batches = [], []
    encoder, decoder = model.backbone.forward, model.neck.forward

    def encoder_spy(pixels):
        encoder_batches.append(pixels.shape[0])
        return encoder(pixels)

    def decoder_spy(features, token_ids, mask, labels=None, num_masked=None):
        decoder_batches.append(features.shape[0])
        return decoder(features, token_ids, mask, labels, num_masked)

    model.backbone.forward, model.neck.forward = encoder_spy, decoder_spy
    for scale in (0., 1., 2., 5.):
        sampler = ADDPSampler(num_steps=4, cfg_scale=scale, cfg_schedule=schedule)
        for step in range(4):
            w = scale if schedule == 'constant' else 1 + (scale - 1) * (step + 1) / 4
            assert sampler.guidance_scale(step) == pytest.approx(w)
            encoder_batches.clear()
            decoder_batches.clear()
            guided = sampler.guided_logits(model, state, step, labels)
            torch.testing.assert_close(guided, uncond + w * (cond - uncond), atol=1e-5,
                                       rtol=1e-5)
            # The encoder reads the B images once; the decoder runs on 2B rows where w mixes
            # both passes, on B where it is 1 or 0.
            assert encoder_batches == [3]
            assert decoder_batches == ([3] if w in (0., 1.) else [6])
    assert ADDPSampler(cfg_schedule='linear', cfg_scale=3., num_steps=4).guidance_scale(3) == 3.
    torch.testing.assert_close(ADDPSampler(cfg_scale=1.).guided_logits(model, state, 0, labels),
                               cond)
    torch.testing.assert_close(ADDPSampler(cfg_scale=0.).guided_logits(model, state, 0, labels),
                               uncond)


def test_label_rows_must_divide_into_the_images(tiny_frozen_files):
    model = _conditional_model(tiny_frozen_files['vqgan']).eval()
    state = _canvas_state(model)
    with pytest.raises(ValueError, match='4 labels for 3 images'):
        model.predict_token_logits(state.pixels, state.token_ids, state.mask,
                                   torch.tensor([0, 1, 2, 3]))


def test_generation_with_classes_is_seeded_per_image(tiny_frozen_files):
    model = _conditional_model(tiny_frozen_files['vqgan']).eval()
    sampler = ADDPSampler(num_steps=3, cfg_scale=2.)
    mask = torch.ones(3, 64, dtype=torch.bool)
    tokens = torch.zeros(3, 64, dtype=torch.long)

    def run(labels, seeds):
        generators = [torch.Generator().manual_seed(s) for s in seeds]
        return sampler.generate(model, tokens[:len(seeds)], mask[:len(seeds)], (32, 32),
                                generators, torch.tensor(labels)).token_ids

    together = run([1, 4, 8], [0, 1, 2])
    assert torch.equal(together[1:2], run([4], [1]))
    assert not torch.equal(run([1, 1, 1], [0, 1, 2])[1:], together[1:])


def test_unknown_classes_and_guidance_without_a_conditional_model_are_refused(
        tiny_model, tiny_frozen_files):
    mask = torch.ones(1, 64, dtype=torch.bool)
    tokens = torch.zeros(1, 64, dtype=torch.long)
    with pytest.raises(ValueError, match='this checkpoint is unconditional'):
        ADDPSampler(num_steps=2, cfg_scale=3.).generate(tiny_model.eval(), tokens, mask,
                                                        (32, 32), labels=torch.tensor([3]))
    conditional = _conditional_model(tiny_frozen_files['vqgan']).eval()
    with pytest.raises(ValueError, match='class 12 is not one this model knows'):
        ADDPSampler(num_steps=2).generate(conditional, tokens, mask, (32, 32),
                                          labels=torch.tensor([12]))
    with pytest.raises(ValueError, match='needs classes'):
        ADDPSampler(num_steps=2, cfg_scale=3.).generate(conditional, tokens, mask, (32, 32))
    with pytest.raises(ValueError, match='cfg_schedule'):
        ADDPSampler(cfg_schedule='cosine')


def test_the_token_predictor_baseline_takes_classes_too(tiny_frozen_files):
    addp = _conditional_model(tiny_frozen_files['vqgan']).eval()
    baseline = TokenPredictorSamplingModel(addp.tokenizer, addp.token_predictor).eval()
    assert baseline.class_conditional and baseline.num_classes == NUM_CLASSES
    mask = torch.ones(2, 64, dtype=torch.bool)
    state = ADDPSampler(num_steps=2, cfg_scale=2.).generate(
        baseline, torch.zeros(2, 64, dtype=torch.long), mask, (32, 32),
        labels=torch.tensor([2, 5]))
    assert state.pixels.shape == (2, 3, 32, 32)
    assert int(state.token_ids.min()) >= 0 and int(state.token_ids.max()) < 64


@pytest.mark.parametrize('stage', ['mage', 'addp'])
def test_conditional_digits_recipes_only_add_the_classes(stage, digits_root):
    cond = Config.fromfile(f'projects/digits_study/configs/{stage}_tiny_digits_cond.py')
    base = Config.fromfile(f'projects/digits_study/configs/{stage}_tiny_digits_long.py')
    parts = ('token_predictor', ) if stage == 'mage' else ('token_predictor', 'neck')
    for part in parts:
        assert (cond.model[part].class_conditional, cond.model[part].num_classes) == (True, 10)
        cond.model[part].pop('class_conditional')
        cond.model[part].num_classes = base.model[part].num_classes
    assert cond.model.pop('label_drop_prob') == 0.3
    assert cond.model == base.model
    assert cond.train_cfg == base.train_cfg and cond.param_scheduler == base.param_scheduler
    dataset_cfg, base_dataset_cfg = cond.train_dataloader.dataset, base.train_dataloader.dataset
    assert dataset_cfg.with_label and not base_dataset_cfg.with_label
    assert dict(dataset_cfg, with_label=False) == base_dataset_cfg
    dataset = DATASETS.build(dict(dataset_cfg, data_root=digits_root))
    sample = dataset[0]['data_samples']
    folder = dataset.get_data_info(0)['img_path'].split('/')[-2]
    assert int(sample.gt_label) == int(folder)
