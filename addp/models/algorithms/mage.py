"""Training the MAGE token predictor on the codes of a trained tokenizer."""
from typing import Dict, List, Optional

import torch

from addp.registry import MODELS

from ..target_generators.interface import (
    check_token_interface,
    token_predictor_interface,
    tokenizer_interface,
)
from .class_labels import training_labels
from .frozen_parts import FrozenPartsModel


@MODELS.register_module()
class MAGE(FrozenPartsModel):
    """Trains a ``MAGETokenPredictor`` as MAGE does, on tokens of a frozen ``VQGANTokenizer``.

    One step: tokenize, draw a mask ratio from a truncated normal, mask that share of tokens
    and drop ``ratio_min`` of them from the encoder input, put the fake class token in front,
    and take the label-smoothed cross-entropy over the K codes at the masked tokens.

    The loss reads the code logits only, as upstream MAGE trains (LTH14/mage 5a3745e) and as
    the released MAGE checkpoints were trained: the class slots and the mask token are never
    targets, so smoothing spreads over K classes and leaves their logits alone. The MAGE copy
    in the ADDP release took it over the whole vocabulary.

    The predictor sits under ``token_predictor.``, so a checkpoint of this model loads where a
    released MAGE file is expected (``model.token_predictor.checkpoint=...``); the frozen
    tokenizer is left out of it.

    A class-conditional predictor (``class_conditional=True``) reads the images' class labels,
    each dropped with ``label_drop_prob`` so that the same model also predicts without one.

    Args:
        tokenizer (dict): The frozen ``VQGANTokenizer``, with its ``checkpoint``.
        token_predictor (dict): A ``MAGETokenPredictor`` config; trained here.
        img_size (int): Size of the training images; fixes the token grid, checked against
            the predictor's ``num_patches`` before training.
        mask_generator (dict): A ``TruncatedNormalMaskGenerator`` config.
        loss (dict): A ``MaskedSoftCrossEntropyLoss`` config; MAGE smooths labels by 0.1.
        label_drop_prob (float): Label dropout of a class-conditional predictor.
        data_preprocessor (dict, optional): Must give pixels in [0, 1].
        init_cfg (dict, optional): MMEngine initialisation config.
    """

    frozen_modules = ('tokenizer', )

    def __init__(self,
                 tokenizer: dict,
                 token_predictor: dict,
                 img_size: int = 256,
                 mask_generator: dict = dict(type='TruncatedNormalMaskGenerator'),
                 loss: dict = dict(type='MaskedSoftCrossEntropyLoss', label_smoothing=0.1),
                 label_drop_prob: float = 0.1,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        predictor_cfg = dict(token_predictor, frozen=False)
        check_token_interface(
            tokenizer_interface(tokenizer, img_size), token_predictor_interface(predictor_cfg),
            'Set model.token_predictor.codebook_size and num_patches to the tokenizer\'s '
            'codebook size and token grid, or point model.tokenizer.checkpoint at the '
            'tokenizer these tokens should come from.')
        self.tokenizer = MODELS.build(tokenizer)
        self.token_predictor = MODELS.build(predictor_cfg)
        self.mask_generator = MODELS.build(mask_generator)
        self.loss_module = MODELS.build(loss)
        self.label_drop_prob = label_drop_prob

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
             **kwargs) -> Dict[str, torch.Tensor]:
        """Args:
            inputs (Tensor): Images (B, 3, H, W) in [0, 1].

        Returns:
            dict: ``loss`` and the sampled ``mask_ratio`` (logged, not optimised).
        """
        token_ids, _ = self.tokenizer.encode(inputs)
        masks = self.mask_generator(*token_ids.shape, device=token_ids.device)
        predictor = self.token_predictor
        labels = (training_labels(data_samples, predictor.num_classes, self.label_drop_prob,
                                  token_ids.device) if predictor.class_conditional else None)
        logits = predictor.logits(token_ids, masks.mask, masks.drop_mask, labels,
                                  masks.num_dropped)
        code_logits = logits[:, 1:, :predictor.codebook_size]
        loss = self.loss_module(code_logits, token_ids, masks.mask)
        return dict(loss=loss, mask_ratio=torch.tensor(masks.mask_ratio))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.tokenizer.encode(inputs)[0]
        raise RuntimeError(f'MAGE supports modes "loss" and "tensor", not {mode!r}')
