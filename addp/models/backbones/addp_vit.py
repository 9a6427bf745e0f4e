"""The ADDP encoder: a ViT on pixels, also the backbone for classification, detection and
segmentation."""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmpretrain.models.utils import resize_pos_embed
from timm.layers import PatchEmbed

from addp.checkpoint import load_backbone_weights
from addp.errors import InvalidInputError
from addp.image_io import IMAGENET_MEAN, IMAGENET_STD
from addp.registry import MODELS

from ..layers import TransformerBlock, init_linear_and_norm

ADDP_VIT_ARCHS = {
    'b': dict(embed_dims=768, num_layers=12, num_heads=12),
    'l': dict(embed_dims=1024, num_layers=24, num_heads=16),
}
OUT_TYPES = ('raw', 'cls_token', 'featmap', 'avg_featmap')


@MODELS.register_module()
class ADDPViT(BaseModule):
    """ViT encoder of ADDP, with the official parameter names.

    During pretraining it reads decoded pixels in [0, 1]: ``normalize_input`` clamps them and
    applies the ImageNet statistics, and ``tokenizer_norm`` (a LayerNorm with dropout after the
    patch and position embedding) is on. The released fine-tuning ViT has neither: its data
    preprocessor normalises, and it averages the patch tokens into ``fc_norm`` without a final
    norm (``final_norm=False, out_type='avg_featmap'``).

    Args:
        arch (str | dict): ``'b'``, ``'l'`` or a dict with ``embed_dims``, ``num_layers`` and
            ``num_heads``.
        img_size (int | tuple): Size the position embedding is laid out for. Other input sizes
            interpolate it.
        patch_size (int): Patch size.
        in_channels (int): Image channels.
        out_indices (int | Sequence[int]): Blocks whose outputs are returned; negative counts
            from the end.
        out_type (str): ``'raw'`` tokens (B, 1 + N, C), ``'cls_token'`` (B, C), ``'featmap'``
            (B, C, h, w) or ``'avg_featmap'`` (B, C): mean of patch tokens through ``fc_norm``.
        with_cls_token (bool): Keep the class token in ``'raw'`` outputs.
        final_norm (bool): Apply ``norm`` after the last block.
        tokenizer_norm (bool): LayerNorm and dropout after the embeddings, as in pretraining.
        normalize_input (bool): Clamp to [0, 1] and normalise with ImageNet mean and std.
        mlp_ratio (float): MLP width ratio.
        drop_rate (float): Dropout inside blocks (attention weights, projections, MLP).
        tokenizer_drop_rate (float): Dropout after ``tokenizer_norm``.
        drop_path_rate (float): Stochastic depth, increasing linearly over blocks.
        norm_eps (float): LayerNorm epsilon of blocks and norms.
        interpolate_mode (str): Position-embedding interpolation mode.
        frozen_stages (int): Freeze the embeddings and this many blocks; -1 freezes nothing.
            Freezing every block also freezes ``norm`` and ``fc_norm``.
        with_cp (bool): Activation checkpointing in the blocks, for memory (ViT-L).
        init_cfg (dict | list, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: Union[int, Tuple[int, int]] = 256,
                 patch_size: int = 16,
                 in_channels: int = 3,
                 out_indices: Union[int, Sequence[int]] = -1,
                 out_type: str = 'raw',
                 with_cls_token: bool = True,
                 final_norm: bool = True,
                 tokenizer_norm: bool = True,
                 normalize_input: bool = True,
                 mlp_ratio: float = 4.,
                 drop_rate: float = 0.,
                 tokenizer_drop_rate: float = 0.1,
                 drop_path_rate: float = 0.,
                 norm_eps: float = 1e-6,
                 interpolate_mode: str = 'bicubic',
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = ADDP_VIT_ARCHS[arch] if isinstance(arch, str) else arch
        if out_type not in OUT_TYPES:
            raise InvalidInputError(f'out_type must be one of {OUT_TYPES}, got {out_type!r}')
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        self.final_norm = final_norm
        self.normalize_input = normalize_input
        self.interpolate_mode = interpolate_mode
        self.frozen_stages = frozen_stages
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        self.out_indices = [i % self.num_layers for i in out_indices]

        self.patch_embed = PatchEmbed(img_size, patch_size, in_channels, self.embed_dims,
                                      flatten=False, strict_img_size=False)
        self.patch_resolution = self.patch_embed.grid_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, self.embed_dims))
        self._register_load_state_dict_pre_hook(self.resize_checkpoint_pos_embed)
        if tokenizer_norm:
            self.tokenizer_norm = nn.LayerNorm(self.embed_dims, eps=1e-6)
            self.tokenizer_dropout = nn.Dropout(tokenizer_drop_rate)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), False)

        # Stochastic depth grows linearly over blocks (plain floats: builds on the meta device).
        drop_path = [drop_path_rate * i / max(self.num_layers - 1, 1)
                     for i in range(self.num_layers)]
        self.blocks = nn.ModuleList(
            TransformerBlock(self.embed_dims, arch['num_heads'], mlp_ratio, drop=drop_rate,
                             attn_drop=drop_rate, drop_path=drop_path[i], norm_eps=norm_eps,
                             with_cp=with_cp)
            for i in range(self.num_layers))
        if final_norm:
            self.norm = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        if out_type == 'avg_featmap':
            self.fc_norm = nn.LayerNorm(self.embed_dims, eps=norm_eps)
        self._freeze_stages()

    def init_weights(self) -> None:
        """Loads ``init_cfg`` ``Pretrained`` weights, or applies the official initialisation.

        A pretrained file may be an official ADDP pretraining or fine-tuning checkpoint or one
        of this project's; pretraining-only parts are dropped and named in the log.
        """
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            load_backbone_weights(self, self.init_cfg['checkpoint'], self.init_cfg.get('prefix'))
            self._is_init = True
            return
        super().init_weights()
        nn.init.normal_(self.pos_embed, std=.02)
        nn.init.normal_(self.cls_token, std=.02)
        w = self.patch_embed.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        init_linear_and_norm(self)

    def resize_checkpoint_pos_embed(self, state_dict: dict, prefix: str = '', *args,
                                    **kwargs) -> None:
        """Interpolates a checkpoint's ``pos_embed`` to this model's patch grid, in place.

        Also the state-dict pre-hook of :meth:`load_state_dict`, hence the extra arguments.
        """
        key = prefix + 'pos_embed'
        if key not in state_dict or state_dict[key].shape == self.pos_embed.shape:
            return
        src_tokens = state_dict[key].shape[1] - 1
        src_side = int(src_tokens**0.5)
        if src_side * src_side != src_tokens:
            raise InvalidInputError(
                f'{key} of shape {tuple(state_dict[key].shape)} is not a square '
                'grid plus a class token; cannot interpolate it')
        state_dict[key] = resize_pos_embed(state_dict[key], (src_side, src_side),
                                           self.patch_resolution, self.interpolate_mode, 1)

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = [self.patch_embed, *self.blocks[:self.frozen_stages]]
        if hasattr(self, 'tokenizer_norm'):
            frozen += [self.tokenizer_norm, self.tokenizer_dropout]
        if self.frozen_stages >= self.num_layers and self.final_norm:
            frozen.append(self.norm)
        # A fully frozen encoder keeps its pooled-feature norm fixed too (linear probing).
        if self.frozen_stages >= self.num_layers and hasattr(self, 'fc_norm'):
            frozen.append(self.fc_norm)
        for module in frozen:
            module.eval()
            module.requires_grad_(False)
        self.cls_token.requires_grad_(False)
        self.pos_embed.requires_grad_(False)

    def train(self, mode: bool = True) -> 'ADDPViT':
        super().train(mode)
        self._freeze_stages()
        return self

    def embed(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        """Pixels (B, 3, H, W) to tokens (B, 1 + h * w, C) before the blocks, and (h, w)."""
        if self.normalize_input:
            x = (x.clamp(0., 1.) - self.mean) / self.std
        x = self.patch_embed(x)
        grid = tuple(x.shape[-2:])
        x = x.flatten(2).transpose(1, 2)
        pos_embed = resize_pos_embed(self.pos_embed, self.patch_resolution, grid,
                                     self.interpolate_mode, num_extra_tokens=1)
        cls_token = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls_token, x], dim=1) + pos_embed
        if hasattr(self, 'tokenizer_norm'):
            x = self.tokenizer_dropout(self.tokenizer_norm(x))
        return x, grid

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Args:
            x (Tensor): Images (B, 3, H, W); in [0, 1] when ``normalize_input``.

        Returns:
            tuple[Tensor]: One output per ``out_indices`` entry, shaped by ``out_type``.
        """
        x, grid = self.embed(x)
        outs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.norm(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, grid))
        return tuple(outs)

    def _format_output(self, x: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        if self.out_type == 'raw':
            return x if self.with_cls_token else x[:, 1:]
        if self.out_type == 'cls_token':
            return x[:, 0]
        patches = x[:, 1:]
        if self.out_type == 'featmap':
            return patches.transpose(1, 2).reshape(x.shape[0], -1, *grid)
        return self.fc_norm(patches.mean(dim=1))

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """Layer id for layer-wise learning-rate decay, as the official ``lr_decay.py`` assigns
        it: embeddings at 0, block i at i + 1, everything else at the top.

        Args:
            param_name (str): Parameter name.
            prefix (str): Prefix of this backbone's parameters in ``param_name``.

        Returns:
            tuple[int, int]: The layer depth and the number of depths (``num_layers + 2``).
        """
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name in ('cls_token', 'pos_embed') or name.startswith('patch_embed'):
            return 0, num_depths
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_depths
        return num_depths - 1, num_depths
