"""One training step of ADDP, the VQGAN and MAGE, and one sampling step, read nothing back
from the device.

On a GPU every tensor-to-Python conversion (``item``, ``tolist``, ``bool``, ``int``,
``float``) and every op whose output size depends on tensor values (``nonzero``, one-argument
``torch.where``, ``masked_select``, boolean-mask indexing, ``bincount``) makes the host wait
for the device. Without a GPU, what can be tested is that the Python-level calls of those
methods do not happen inside a step: the methods are wrapped and each call is recorded with
the line that made it. Reads of values that live on the host by design (a batch's mask ratio
drawn from torch's CPU generator) go through ``addp.host_values.host_value``, which refuses
device tensors and so is not counted; torch's own optimizers read their step counters, which
stay on the host without ``capturable=True``, and are not counted either. Copies between host
and device and C++-level reads are not seen here; ``torch.cuda.set_sync_debug_mode`` sees them
on a GPU (tools/check_gpu.sh).
"""
import os.path as osp
import traceback
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import torch
from mmengine.hooks import CheckpointHook, LoggerHook
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample

from addp.engine import NonFiniteLossError, NonFiniteLossHook
from addp.models import MAGE, VQGAN, ADDPSampler
from addp.models.sampling import generators_on
from addp.registry import MODELS
from addp.testing import TINY_MAGE, TINY_VQGAN, tiny_addp_cfg

TENSOR_METHODS = ('item', 'tolist', '__bool__', '__int__', '__float__', '__index__', 'nonzero',
                  'masked_select')
TORCH_FUNCTIONS = ('nonzero', 'masked_select', 'bincount')
# Images as the data loader gives them (uint8), to pixels in [0, 1].
PREPROCESSOR = dict(type='SelfSupDataPreprocessor', mean=[0., 0., 0.], std=[255., 255., 255.],
                    to_rgb=True)
# Callers whose reads are of host tensors: torch's optimizers read their step counters.
HOST_CALLERS = (osp.join('torch', 'optim', ''), )


def _is_bool_mask(index) -> bool:
    indices = index if isinstance(index, tuple) else (index, )
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in indices)


@contextmanager
def count_syncs(monkeypatch):
    """Records every call of a synchronising tensor method made inside the block, as the
    lines of ADDP's code (or the test's) that led to it."""
    calls = []

    def record(name):
        stack = traceback.extract_stack()[:-2]
        if any(part in stack[-1].filename for part in HOST_CALLERS):
            return
        ours = [f'{osp.basename(f.filename)}:{f.lineno} {f.line}' for f in stack
                if f'{osp.sep}addp{osp.sep}' in f.filename]
        calls.append((name, ours[-3:] or [f'{stack[-1].filename}:{stack[-1].lineno}']))

    def wrap(owner, name, condition=None):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            if condition is None or condition(*args, **kwargs):
                record(name)
            return original(*args, **kwargs)
        monkeypatch.setattr(owner, name, wrapper)

    with monkeypatch.context() as patch:
        monkeypatch = patch
        for name in TENSOR_METHODS:
            wrap(torch.Tensor, name)
        for name in TORCH_FUNCTIONS:
            wrap(torch, name)
        wrap(torch, 'where', lambda *args, **kwargs: len(args) + len(kwargs) == 1)
        wrap(torch.Tensor, '__getitem__', lambda self, index: _is_bool_mask(index))
        wrap(torch.Tensor, '__setitem__', lambda self, index, value: _is_bool_mask(index))
        yield calls


def test_the_counter_sees_each_kind_of_sync(monkeypatch):
    x = torch.arange(6.)
    with count_syncs(monkeypatch) as calls:
        x.sum().item()
        bool(x.any())
        float(x[0])
        x[x > 2]
        torch.where(x > 2)
        x.tolist()
        torch.bincount(x.long())
        x[torch.tensor([1, 2])]  # an index tensor of integers: no sync
        torch.where(x > 2, x, 0.)
    assert [name for name, _ in calls] == ['item', '__bool__', '__float__', '__getitem__',
                                           'where', 'tolist', 'bincount']


def _images(batch, size=32):
    return [torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(batch)]


def _train_steps(model, batch, labels=None, steps=2):
    """Runs ``steps`` training steps with an AdamW ``OptimWrapper``; yields before each."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    wrapper = OptimWrapper(optimizer)
    model.train()
    for _ in range(steps):
        samples = [DataSample() if labels is None else DataSample().set_gt_label(int(label))
                   for label in (labels if labels is not None else range(batch))]
        data = dict(inputs=torch.stack(_images(batch)), data_samples=samples)
        yield lambda: model.train_step(data, wrapper)


def _assert_no_sync_in_last_step(model, monkeypatch, batch=2, labels=None, steps=2):
    """Runs the earlier steps as they are (first-step reads of cached values are allowed)
    and counts the syncs of the last one."""
    for index, step in enumerate(_train_steps(model, batch, labels, steps)):
        if index < steps - 1:
            log_vars = step()
            continue
        with count_syncs(monkeypatch) as calls:
            log_vars = step()
        assert calls == [], calls
    assert torch.isfinite(log_vars['loss'])
    return log_vars


@pytest.mark.parametrize('class_conditional', [False, True])
def test_an_addp_training_step_reads_nothing_back(tiny_frozen_files, monkeypatch,
                                                  class_conditional):
    cfg = tiny_addp_cfg(tiny_frozen_files['vqgan'], tiny_frozen_files['mage'])
    if class_conditional:
        conditional = dict(class_conditional=True, num_classes=10)
        cfg['neck'].update(conditional)
        cfg['token_predictor'].update(conditional, checkpoint=None)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    log_vars = _assert_no_sync_in_last_step(model, monkeypatch,
                                            labels=[3, 7] if class_conditional else None)
    assert set(log_vars) == {'loss', 'mask_ratio'}


def test_a_vqgan_training_step_after_the_warmup_reads_nothing_back(monkeypatch):
    torch.manual_seed(0)
    # One warm-up step, the k-means initialisation, then the counted step with restarts.
    model = VQGAN(tokenizer=TINY_VQGAN, autoencoder_warmup_iters=1,
                  codebook_reviver=dict(type='CodebookReviver', dead_threshold=0.5),
                  data_preprocessor=PREPROCESSOR)
    model.init_weights()
    log_vars = _assert_no_sync_in_last_step(model, monkeypatch, steps=3)
    assert {'loss_pixel', 'loss_codebook', 'loss_commit', 'perplexity'} <= set(log_vars)
    assert model.codebook_reviver.initialized and int(model.iterations_trained) == 3


def test_a_mage_training_step_reads_nothing_back(tiny_frozen_files, monkeypatch):
    torch.manual_seed(0)
    model = MAGE(tokenizer=dict(TINY_VQGAN, checkpoint=tiny_frozen_files['vqgan']),
                 token_predictor=dict(TINY_MAGE, num_patches=64, codebook_size=64),
                 img_size=32, data_preprocessor=PREPROCESSOR)
    model.init_weights()
    _assert_no_sync_in_last_step(model, monkeypatch)


def _conditional_sampling_model(vqgan_file):
    cfg = tiny_addp_cfg(vqgan_file, None)
    cfg['neck'].update(class_conditional=True, num_classes=10)
    cfg['token_predictor'] = None
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.eval()


@pytest.mark.parametrize('guided', [False, True])
def test_sampling_steps_read_nothing_back(tiny_model, tiny_frozen_files, monkeypatch, guided):
    model = _conditional_sampling_model(tiny_frozen_files['vqgan']) if guided else \
        tiny_model.eval()
    labels = torch.tensor([2, 5]) if guided else None
    sampler = ADDPSampler(num_steps=4, cfg_scale=3. if guided else 1.)
    sampler.check_labels(model, labels)
    tokens = torch.zeros(2, 64, dtype=torch.long)
    state = sampler.initial_state(model, tokens, torch.ones(2, 64, dtype=torch.bool), (32, 32))
    generators = generators_on([torch.Generator().manual_seed(i) for i in range(2)], 'cpu')
    # Step 0 starts from the blank canvas (no encoder), the later ones read pixels.
    for step in range(sampler.num_steps):
        with count_syncs(monkeypatch) as calls:
            state = sampler.step(model, state, step, state.num_masked if step == 0 else 64,
                                 generators, labels)
        assert calls == [], (step, calls)
        assert state.num_masked == int(state.mask.sum(1)[0])
    assert state.num_masked == 1


def _runner(tmp_path, logger_interval=4, checkpoint_interval=6, max_iters=100):
    runner = SimpleNamespace(
        iter=0, epoch=0, max_iters=max_iters, work_dir=str(tmp_path),
        optim_wrapper=OptimWrapper(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], 0.1)),
        logger=MMLogger.get_current_instance(),
        hooks=[LoggerHook(interval=logger_interval),
               CheckpointHook(interval=checkpoint_interval, by_epoch=False)])
    runner.train_loop = SimpleNamespace(max_iters=max_iters)
    return runner


def test_the_non_finite_loss_hook_reads_losses_at_log_and_checkpoint_steps_only(tmp_path,
                                                                              monkeypatch):
    runner = _runner(tmp_path)
    hook = NonFiniteLossHook()
    reads = []
    for iteration in range(12):
        runner.iter = iteration
        with count_syncs(monkeypatch) as calls:
            hook.after_train_iter(runner, iteration, outputs=dict(loss=torch.tensor(1.)))
        reads.append(len(calls))
    # Iterations 4 and 8 log, 6 and 12 save a checkpoint: one read each, none elsewhere.
    assert [i + 1 for i, n in enumerate(reads) if n] == [4, 6, 8, 12]
    assert max(reads) == 1


def test_a_nan_between_checks_stops_before_the_checkpoint_naming_its_iteration(tmp_path):
    runner = _runner(tmp_path, logger_interval=50, checkpoint_interval=6)
    hook = NonFiniteLossHook()
    losses = [1., 1., float('nan'), float('nan'), 2., 3.]
    with pytest.raises(NonFiniteLossError, match=r'Loss is nan at iteration 3 \(epoch 1\)'):
        for iteration, loss in enumerate(losses):
            runner.iter = iteration
            hook.after_train_iter(runner, iteration, outputs=dict(loss=torch.tensor(loss)))
    assert runner.iter == 5  # raised at iteration 6, before its checkpoint is written


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_gpu_steps_do_not_synchronise(tiny_frozen_files):
    """On a GPU, torch's sync debug mode raises at any synchronisation, copies included:
    one ADDP training step and one guided sampling step, each after a warm-up."""
    cfg = tiny_addp_cfg(tiny_frozen_files['vqgan'], tiny_frozen_files['mage'])
    # The batch comes on the device, in RGB: the data preprocessor's copy and channel flip
    # are the data pipeline's, not the step's.
    cfg['data_preprocessor'] = dict(PREPROCESSOR, to_rgb=False)
    torch.manual_seed(0)
    model = MODELS.build(cfg).cuda()
    model.init_weights()
    wrapper = OptimWrapper(torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4))
    data = dict(inputs=torch.stack(_images(2)).cuda(), data_samples=[DataSample()] * 2)
    model.train_step(data, wrapper)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        model.train_step(data, wrapper)
    finally:
        torch.cuda.set_sync_debug_mode('default')

    sampling = _conditional_sampling_model(tiny_frozen_files['vqgan']).cuda()
    sampler = ADDPSampler(num_steps=4, cfg_scale=3.)
    labels = torch.tensor([2, 5], device='cuda')
    sampler.check_labels(sampling, labels)
    mask = torch.ones(2, 64, dtype=torch.bool, device='cuda')
    state = sampler.initial_state(sampling, torch.zeros_like(mask, dtype=torch.long), mask,
                                  (32, 32))
    generators = generators_on([torch.Generator().manual_seed(i) for i in range(2)], 'cuda')
    state = sampler.step(sampling, state, 0, 64, generators, labels)
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        state = sampler.step(sampling, state, 1, 64, generators, labels)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert state.num_masked == int(state.mask.sum(1)[0])
