"""ViTDet's simple feature pyramid: a multi-scale pyramid from one stride-16 map."""
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule


@MODELS.register_module()
class SimpleFPN(BaseModule):
    """Simple feature pyramid of ViTDet (Li et al., 2022).

    The last backbone map (stride 16) is upsampled 4x by two transposed convolutions (with a
    norm and GELU between them) and 2x by one, kept at 1x, and max-pooled 2x, giving strides
    4, 8, 16 and 32. Each level then goes through a 1x1 and a 3x3 convolution with a norm, and
    levels beyond these four are stride-2 max-pools of the last (ViTDet's ``LastLevelMaxPool``).

    For a 1024 x 1024 image and ``num_outs=5``: maps of side 256, 128, 64, 32 and 16, each
    with ``out_channels`` channels.

    Args:
        backbone_channel (int): Channels of the backbone map.
        in_channels (Sequence[int]): Channels of the four rescaled maps before the output
            convolutions; ViTDet uses ``[C / 4, C / 2, C, C]``.
        out_channels (int): Channels of every output level.
        num_outs (int): Output levels, at least 4.
        norm_cfg (dict): Norm after the first transposed convolution and in the output
            convolutions; ViTDet uses a channel LayerNorm (``'mmpretrain.LN2d'``).
        init_cfg (dict | list, optional): MMEngine initialisation config.
    """

    def __init__(self,
                 backbone_channel: int,
                 in_channels: Sequence[int],
                 out_channels: int,
                 num_outs: int = 5,
                 norm_cfg: dict = dict(type='mmpretrain.LN2d', eps=1e-6),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f'SimpleFPN builds 4 scales; got in_channels {in_channels}')
        if num_outs < 4:
            raise ValueError(f'num_outs must be at least 4, got {num_outs}')
        c = backbone_channel
        if tuple(in_channels[2:]) != (c, c):
            raise ValueError('the stride-16 and stride-32 levels are the backbone map and its '
                             f'max-pool, so in_channels[2:] must be [{c}, {c}], got '
                             f'{list(in_channels)}')
        self.num_outs = num_outs
        self.rescales = nn.ModuleList([
            nn.Sequential(
                nn.ConvTranspose2d(c, c // 2, 2, stride=2),
                build_norm_layer(norm_cfg, c // 2)[1],
                nn.GELU(),
                nn.ConvTranspose2d(c // 2, in_channels[0], 2, stride=2)),
            nn.ConvTranspose2d(c, in_channels[1], 2, stride=2),
            nn.Identity(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        ])
        self.lateral_convs = nn.ModuleList(
            ConvModule(ch, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
            for ch in in_channels)
        self.output_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None)
            for _ in in_channels)

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, ...]:
        """Args:
            inputs (tuple[Tensor]): Backbone outputs; the last, (B, C, H, W) at stride 16,
                is used.

        Returns:
            tuple[Tensor]: ``num_outs`` maps (B, out_channels, 4H / 2**i, 4W / 2**i).
        """
        x = inputs[-1]
        outs: List[torch.Tensor] = [
            out_conv(lateral(rescale(x)))
            for rescale, lateral, out_conv in zip(self.rescales, self.lateral_convs,
                                                  self.output_convs)
        ]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], kernel_size=1, stride=2))
        return tuple(outs)
