"""Checks ADDP here against tensors recorded from the official implementation.

Usage:
    python tools/verify_official_parity.py FILE [FILE ...] [--device cuda]

Each FILE (format ``addp-official-golden/1``) holds an architecture, official-format
checkpoints, inputs and every intermediate output of the official code. For each file the
modules are built from its config, its checkpoints are written out as the released files are
laid out and loaded through the loading code users use, and each stage runs from the recorded
inputs of that stage. One row per output gives its relative error (||ours - ref|| / ||ref||)
or, for integer and boolean tensors, equality. The exit status is 0 only if every row passes.
On a GPU, TF32 is turned off: the rows compare fp32 arithmetic.
"""
import argparse
import tempfile
from typing import Dict, List, Tuple

import torch
from mmengine.registry import init_default_scope

import addp.models  # noqa: F401  (registers the modules)
from addp.checkpoint import (
    addp_config_from_official,
    convert_official_classifier,
    load_addp_checkpoint,
    load_backbone_weights,
    load_state_dict_checked,
    write_released_files,
)
from addp.cli import run_tool
from addp.image_io import imagenet_normalize
from addp.models import ADDPSampler, SamplerState
from addp.models.necks import DecoderOutput
from addp.registry import MODELS

FORMAT = 'addp-official-golden/1'
TOLERANCE = 1e-4


def compare(name: str, ours, ref) -> Tuple[str, str, bool]:
    """One report row: the name, the measure, and whether it passes."""
    if isinstance(ref, (list, tuple)):
        ok = sorted(ours) == sorted(ref)
        return name, f'{"equal" if ok else f"differs: {sorted(ours)} vs {sorted(ref)}"}', ok
    ours, ref = ours.detach().cpu(), ref.cpu()
    if ours.shape != ref.shape:
        return name, f'shape {tuple(ours.shape)} vs reference {tuple(ref.shape)}', False
    if not ref.is_floating_point():
        wrong = int((ours.to(ref.dtype) != ref).sum())
        return name, 'equal' if wrong == 0 else f'{wrong} of {ref.numel()} differ', wrong == 0
    err = float((ours.double() - ref.double()).norm() / ref.double().norm().clamp_min(1e-30))
    return name, f'rel err {err:.2e}', err <= TOLERANCE


def build_classifier(config: dict, pooled: bool):
    """The official fine-tuning ViT as an mmpretrain ImageClassifier, or its token features."""
    backbone = dict(
        type='ADDPViT',
        arch=dict(embed_dims=config['embed_dim'], num_layers=config['depth'],
                  num_heads=config['num_heads']),
        img_size=config['img_size'], patch_size=config['patch_size'],
        out_type='avg_featmap' if pooled else 'raw', final_norm=False, tokenizer_norm=False,
        normalize_input=False)
    head = dict(type='LinearClsHead', num_classes=config['classifier']['num_classes'],
                in_channels=config['embed_dim'])
    return MODELS.build(dict(type='ImageClassifier', backbone=backbone, head=head)).eval()


def to_device(tensors: dict, device: str) -> dict:
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in tensors.items()}


def check_file(path: str, device: str = 'cpu') -> List[Tuple[str, str, bool]]:
    golden = torch.load(path, map_location='cpu', weights_only=False)
    if golden.get('format') != FORMAT:
        raise ValueError(f'{path}: format {golden.get("format")!r} is not {FORMAT!r}')
    config = golden['config']
    inputs, out = to_device(golden['inputs'], device), to_device(golden['outputs'], device)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        files = write_released_files(golden['checkpoints'], workdir)
        model = MODELS.build(addp_config_from_official(
            config, files['vqgan'], files['mage']))
        model.init_weights()
        load_addp_checkpoint(model, files['addp'])
        model.to(device).eval()
        tokenizer, predictor = model.tokenizer, model.token_predictor
        mask_t, mask_next = inputs['mask_t'].bool(), inputs['mask_t_next'].bool()
        ids = out['vq_indices']
        grid = out['z0'].shape[-2:]
        as_grid = lambda t: t.permute(0, 2, 1).reshape(t.shape[0], -1, *grid)  # noqa: E731

        with torch.no_grad():
            vq_indices, z0 = tokenizer.encode(inputs['images'])
            rows += [compare('vq_indices', vq_indices, ids), compare('z0', z0, out['z0'])]
            soft = tokenizer.embed_probs(predictor(ids, mask_next), grid)
            rows.append(compare('tp_soft_embedding', soft, out['tp_soft_embedding']))
            rows.append(compare('tp_probs', as_grid(predictor(ids, mask_t)), out['tp_probs']))
            # The recorded soft embedding, so that this row measures the pixel decoder alone.
            x_t = tokenizer.decode(torch.where(mask_t.view(-1, 1, *grid),
                                               out['tp_soft_embedding'], out['z0']))
            rows.append(compare('x_t', x_t, out['x_t']))
            rows.append(compare('encoder_out', model.extract_feat(out['x_t']),
                                out['encoder_out']))
            # The recorded logits cover the class slot and appended tokens too; only the
            # token-grid positions are read, and only those are computed here.
            grid_logits = out['decoder_logits'][:, 1:1 + ids.shape[1]]
            prediction = model.neck(out['encoder_out'], ids, mask_t)
            rows.append(compare('decoder_logits', prediction.logits, grid_logits))
            target = out['tp_probs'].flatten(2).transpose(1, 2)
            recorded = DecoderOutput(grid_logits, tokenizer.codebook_size)
            rows.append(compare('loss', model.head.loss(recorded, target, mask_t), out['loss']))

        model.zero_grad()
        loss = model.head.loss(model.neck(model.extract_feat(out['x_t']), ids, mask_t), target,
                               mask_t)
        loss.backward()
        rows.append(compare('grad_blocks0_qkv_weight',
                            model.backbone.blocks[0].attn.qkv.weight.grad,
                            out['grad_blocks0_qkv_weight']))
        rows.append(compare('grad_patch_embed_weight',
                            model.backbone.patch_embed.proj.weight.grad,
                            out['grad_patch_embed_weight']))

        rows += check_generation_step(model, out)
        rows += check_classifier(config, inputs, out, files)
    return rows


def check_generation_step(model, out: dict) -> List[Tuple[str, str, bool]]:
    sampler = ADDPSampler(num_steps=out['gen_num_iter'], schedule='cosine',
                          choice_temperature=0., sampling='argmax')
    gen_mask = out['gen_mask'].bool()
    state = SamplerState(out['x_t'], out['gen_tokens'], gen_mask)
    num_unknown = torch.full((gen_mask.shape[0], ), gen_mask.shape[1], device=gen_mask.device)
    with torch.no_grad():
        logits = model.predict_token_logits(out['x_t'], out['gen_tokens'], gen_mask)
        nxt = sampler.step(model, state, out['gen_step'], num_unknown)
    return [
        compare('gen_logits', logits, out['gen_logits']),
        compare('gen_sampled', nxt.token_ids, out['gen_sampled']),
        compare('gen_next_mask', nxt.mask, out['gen_next_mask']),
        compare('gen_next_pixels', nxt.pixels, out['gen_next_pixels']),
    ]


def check_classifier(config: dict, inputs: dict, out: dict,
                     files: Dict[str, str]) -> List[Tuple[str, str, bool]]:
    device = inputs['images'].device
    images = imagenet_normalize(inputs['images'])
    classifier = build_classifier(config, pooled=True)
    state_dict = convert_official_classifier(
        torch.load(files['classifier'], map_location='cpu')['model'])
    load_state_dict_checked(classifier, state_dict, source=files['classifier'])
    classifier.to(device)
    features = build_classifier(config, pooled=False).backbone
    load_backbone_weights(features, files['classifier'])
    features.to(device)

    fresh = build_classifier(config, pooled=True)
    missing = load_backbone_weights(fresh.backbone, files['addp'])
    missing += ['head.' + name for name, _ in fresh.head.fc.named_parameters()]
    with torch.no_grad():
        return [
            compare('cls_features', features(images)[-1], out['cls_features']),
            compare('cls_logits', classifier(images, mode='tensor'), out['cls_logits']),
            compare('cls_missing_keys', missing, out['cls_missing_keys']),
        ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('files', nargs='+', help='parity files (addp-official-golden/1)')
    parser.add_argument('--device', default='cpu', help='run the modules here (cpu, cuda)')
    args = parser.parse_args(argv)
    # fp32 as recorded: TF32 matrix products differ from it by about 1e-3.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    init_default_scope('addp')
    torch.manual_seed(0)
    all_ok = True
    for path in args.files:
        rows = check_file(path, args.device)
        print(f'\n{path}')
        width = max(len(r[0]) for r in rows)
        for name, measure, ok in rows:
            print(f'  {name:<{width}}  {measure:<28}  {"ok" if ok else "FAIL"}')
        passed = sum(ok for _, _, ok in rows)
        print(f'  {passed} of {len(rows)} rows within {TOLERANCE:g} relative / exact')
        all_ok &= passed == len(rows)
    return 0 if all_ok else 1


if __name__ == '__main__':
    run_tool(main)
