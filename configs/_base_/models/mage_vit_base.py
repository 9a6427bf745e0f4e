# Training the MAGE ViT-B token predictor (the released layout and size, from
# addp_vit_base.py) on the codes of a frozen tokenizer.
_base_ = ['./addp_vit_base.py']

model = dict(
    _delete_=True,
    type='MAGE',
    data_preprocessor={{_base_.model.data_preprocessor}},
    img_size={{_base_.img_size}},
    tokenizer={{_base_.model.tokenizer}},
    token_predictor={{_base_.model.token_predictor}},
    mask_generator=dict(type='TruncatedNormalMaskGenerator', ratio_min=0.5, ratio_max=1.0,
                        mu=0.55, std=0.25))
