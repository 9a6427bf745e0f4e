"""The ADDP pretraining algorithm."""
from typing import Dict, List, Optional

import torch

from addp.errors import InvalidInputError
from addp.registry import MODELS

from ..layers import count_per_row
from ..target_generators.interface import (
    check_token_interface,
    config_value,
    decoder_interface,
    token_predictor_interface,
    tokenizer_interface,
)
from .class_labels import check_same_conditioning, training_labels
from .frozen_parts import FrozenPartsModel


@MODELS.register_module()
class ADDP(FrozenPartsModel):
    """Alternating Denoising Diffusion Process (ICLR 2024).

    One step: tokenize the image, draw nested masks m_t inside m_{t+1}, let the frozen token
    predictor give the soft embedding at t+1 and the target distribution at t, decode pixels
    x_t from a latent that is soft on m_t and exact elsewhere, then encode x_t and decode the
    tokens of step t.

    A class-conditional model (decoder and token predictor built with
    ``class_conditional=True``) reads the images' class labels; each label is dropped with
    ``label_drop_prob`` for both parts at once, so that the unconditional path learns the
    unconditional targets.

    Args:
        backbone (dict): The encoder (``ADDPViT``).
        neck (dict): The decoder (``ADDPDecoder``).
        head (dict): The loss head (``ADDPPretrainHead``).
        tokenizer (dict): The frozen VQGAN (``VQGANTokenizer``).
        token_predictor (dict, optional): The frozen MAGE (``MAGETokenPredictor``). Only
            training needs it; sampling and feature extraction may leave it out.
        mask_generator (dict): Draws nested masks (``NestedMaskGenerator``).
        label_drop_prob (float): Label dropout of a class-conditional model.
        data_preprocessor (dict, optional): Must keep pixels in [0, 1].
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    frozen_modules = ('tokenizer', 'token_predictor')
    # Sampling and feature extraction never read the token predictor.
    training_only_modules = ('token_predictor', )

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 tokenizer: dict,
                 token_predictor: Optional[dict] = None,
                 mask_generator: dict = dict(type='NestedMaskGenerator'),
                 label_drop_prob: float = 0.1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        tokens = tokenizer_interface(tokenizer, config_value(backbone, 'img_size'))
        check_token_interface(
            tokens, decoder_interface(neck),
            'Set model.neck.codebook_size to the tokenizer\'s and model.neck.num_patches to its '
            'token count at the image size (model.backbone.img_size).')
        if token_predictor:
            check_token_interface(
                tokens, token_predictor_interface(token_predictor),
                'Train the token predictor on this tokenizer\'s codes (configs/mage/), or '
                'point model.tokenizer.checkpoint at the tokenizer it was trained with.')
            check_same_conditioning(neck, token_predictor, 'model.neck and model.token_predictor')
        self.tokenizer = MODELS.build(tokenizer)
        self.token_predictor = MODELS.build(token_predictor) if token_predictor else None
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        self.mask_generator = MODELS.build(mask_generator)
        self.label_drop_prob = label_drop_prob

    @property
    def class_conditional(self) -> bool:
        """Whether sampling may ask for classes."""
        return self.neck.class_conditional

    @property
    def num_classes(self) -> int:
        """The classes a class-conditional model knows: 0 .. num_classes - 1."""
        return self.neck.num_classes

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Encoder features (B, 1 + N, C) of images in [0, 1]."""
        return self.backbone(inputs)[-1]

    def predict_token_logits(self, pixels: torch.Tensor, token_ids: torch.Tensor,
                             mask: torch.Tensor, labels: Optional[torch.Tensor] = None,
                             num_masked: Optional[int] = None) -> torch.Tensor:
        """Logits over the K codes at each position, given the pixels and the visible tokens.

        The decoder reads encoder features only at visible positions, so where every token is
        masked (the first step from a blank canvas) the encoder is skipped. Labels enter the
        decoder only: R label rows per image (classifier-free guidance asks for a conditional
        and an unconditional row) run the encoder once on the B images and the decoder on
        R * B rows.

        Args:
            pixels (Tensor): (B, 3, H, W) in [0, 1].
            token_ids (Tensor): (B, N) code indices; masked entries are not read.
            mask (Tensor): (B, N), true where masked.
            labels (Tensor, optional): (B,) or (R * B,) classes of a class-conditional model,
                row r * B + i for image i; -1 or None for the unconditional path.
            num_masked (int, optional): Tokens masked in every row, where the caller knows it
                on the host; None reads it from ``mask``, which on a GPU waits for the device.

        Returns:
            Tensor: (B, N, K), or (R * B, N, K) with R label rows per image.
        """
        B, N = mask.shape
        num_rows = 1 if labels is None else labels.shape[0] // B
        if labels is not None and labels.shape[0] != num_rows * B:
            raise InvalidInputError(f'{labels.shape[0]} labels for {B} images; give one label '
                                    'per image, or the same number of label rows for each')
        if num_masked is None:
            num_masked = count_per_row(mask)
        if num_masked == N:
            features = pixels.new_zeros(B, 1 + N, self.neck.in_channels)
        else:
            features = self.extract_feat(pixels)
        if num_rows > 1:
            features = features.repeat(num_rows, 1, 1)
            token_ids, mask = token_ids.repeat(num_rows, 1), mask.repeat(num_rows, 1)
        return self.neck(features, token_ids, mask, labels, num_masked).code_logits

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (Tensor): Images (B, 3, H, W) in [0, 1].

        Returns:
            dict: ``loss`` and the sampled ``mask_ratio`` (logged, not optimised).
        """
        if self.token_predictor is None:
            raise InvalidInputError('ADDP was built without a token_predictor; training needs '
                                    'one (set model.token_predictor in the config)')
        token_ids, latent = self.tokenizer.encode(inputs)
        labels = (training_labels(data_samples, self.num_classes, self.label_drop_prob,
                                  token_ids.device) if self.class_conditional else None)
        masks = self.mask_generator(*token_ids.shape, device=token_ids.device)
        mask_t = masks.mask_t
        # Both token-predictor passes in one batch: fewer, larger matrix products.
        probs_next, target = self.token_predictor(
            token_ids.repeat(2, 1), torch.cat([masks.mask_next, mask_t]),
            None if labels is None else labels.repeat(2)).chunk(2)
        x_t = self.tokenizer.decode_token_state(token_ids, mask_t, latent.shape[-2:], probs_next)
        prediction = self.neck(self.extract_feat(x_t), token_ids, mask_t, labels,
                               masks.num_masked)
        loss = self.head.loss(prediction, target, mask_t)
        return dict(loss=loss, mask_ratio=masks.mask_ratio)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise RuntimeError(f'ADDP supports modes "loss" and "tensor", not {mode!r}; '
                           'sample images with ADDPSampler or tools/generate.py')
