"""The ADDP algorithm, its encoder and decoder at tiny size."""
import pytest
import torch

from addp.errors import InvalidInputError
from addp.models import ADDPDecoder, ADDPViT
from addp.registry import MODELS


def test_training_step_forward_and_backward(tiny_model):
    tiny_model.train()
    torch.manual_seed(0)
    losses = tiny_model.loss(torch.rand(2, 3, 32, 32))
    assert set(losses) == {'loss', 'mask_ratio'}
    assert torch.isfinite(losses['loss']) and 0.5 <= float(losses['mask_ratio']) < 1.0
    losses['loss'].backward()
    assert tiny_model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert tiny_model.neck.embed.weight.grad.abs().sum() > 0
    assert tiny_model.neck.token_embed.weight.grad is not None  # through the appended tokens
    for frozen in (tiny_model.tokenizer, tiny_model.token_predictor):
        assert all(p.grad is None for p in frozen.parameters())


def test_a_few_steps_reduce_the_loss(tiny_model):
    tiny_model.train()
    images = torch.rand(4, 3, 32, 32)
    optimizer = torch.optim.AdamW([p for p in tiny_model.parameters() if p.requires_grad], 1e-3)
    losses = []
    for _ in range(8):
        torch.manual_seed(0)  # the same masks each step
        loss = tiny_model.loss(images)['loss']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]


def test_state_dict_leaves_frozen_parts_out(tiny_model, tiny_cfg):
    keys = list(tiny_model.state_dict())
    assert keys and not any(k.startswith(('tokenizer.', 'token_predictor.')) for k in keys)
    rebuilt = MODELS.build(tiny_cfg)
    result = rebuilt.load_state_dict(tiny_model.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # The frozen parts came back from their own files.
    assert torch.equal(rebuilt.tokenizer.codebook, tiny_model.tokenizer.codebook)


def test_loss_without_token_predictor_is_a_clear_error(tiny_cfg):
    model = MODELS.build(dict(tiny_cfg, token_predictor=None))
    with pytest.raises(InvalidInputError, match='token_predictor'):
        model.loss(torch.rand(1, 3, 32, 32))


@pytest.mark.parametrize('out_type,shape', [('raw', (2, 17, 32)), ('cls_token', (2, 32)),
                                            ('featmap', (2, 32, 4, 4)), ('avg_featmap', (2, 32))])
def test_backbone_output_types(out_type, shape):
    vit = ADDPViT(arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=16, patch_size=4,
                  out_type=out_type, out_indices=(0, 1))
    outs = vit(torch.rand(2, 3, 16, 16))
    assert len(outs) == 2 and all(o.shape == shape for o in outs)


def test_backbone_interpolates_position_embedding():
    small = ADDPViT(arch=dict(embed_dims=32, num_layers=1, num_heads=2), img_size=16,
                    patch_size=4, out_type='featmap')
    small.init_weights()
    large = ADDPViT(arch=dict(embed_dims=32, num_layers=1, num_heads=2), img_size=32,
                    patch_size=4, out_type='featmap')
    large.load_state_dict(small.state_dict())
    assert large.pos_embed.shape == (1, 65, 32)
    assert torch.equal(large.pos_embed[:, 0], small.pos_embed[:, 0])
    assert small(torch.rand(1, 3, 24, 40))[0].shape == (1, 32, 6, 10)


def test_layer_depth_follows_official_assignment():
    vit = ADDPViT(arch=dict(embed_dims=32, num_layers=3, num_heads=2), img_size=16, patch_size=4)
    depth = {n: vit.get_layer_depth(n)[0] for n, _ in vit.named_parameters()}
    assert depth['cls_token'] == depth['pos_embed'] == depth['patch_embed.proj.weight'] == 0
    assert depth['blocks.0.attn.qkv.weight'] == 1 and depth['blocks.2.mlp.fc2.bias'] == 3
    assert depth['norm.weight'] == depth['tokenizer_norm.bias'] == 4
    assert vit.get_layer_depth('head.fc.weight', 'backbone.') == (4, 5)


def test_frozen_stages_freeze_embeddings_and_blocks():
    vit = ADDPViT(arch=dict(embed_dims=32, num_layers=2, num_heads=2), img_size=16,
                  patch_size=4, frozen_stages=1)
    vit.train()
    assert not vit.pos_embed.requires_grad and not vit.patch_embed.proj.weight.requires_grad
    assert not any(p.requires_grad for p in vit.blocks[0].parameters())
    assert all(p.requires_grad for p in vit.blocks[1].parameters())
    assert not vit.blocks[0].training and vit.blocks[1].training


def test_decoder_rejects_uneven_masks():
    decoder = ADDPDecoder(num_patches=4, in_channels=8, embed_dims=8, num_layers=1, num_heads=2,
                          codebook_size=8, num_classes=2)
    mask = torch.tensor([[True, False, False, False], [True, True, False, False]])
    with pytest.raises(ValueError, match='same number'):
        decoder(torch.rand(2, 5, 8), torch.zeros(2, 4, dtype=torch.long), mask)


def test_decoder_output_layout():
    decoder = ADDPDecoder(num_patches=4, in_channels=8, embed_dims=8, num_layers=1, num_heads=2,
                          codebook_size=8, num_classes=2)
    mask = torch.tensor([[True, False, True, False]])
    output = decoder(torch.rand(1, 5, 8), torch.tensor([[1, 2, 3, 4]]), mask)
    # Logits at the 4 grid positions over codes, classes and the mask token; the codes first.
    assert output.logits.shape == (1, 4, 8 + 2 + 1)
    assert torch.equal(output.code_logits, output.logits[..., :8])
