# Training the MAGE VQGAN tokenizer (the released layout and size, from addp_vit_base.py).
# It starts from the released vqgan_jax_strongaug.ckpt; set model.tokenizer.checkpoint=None
# to train from scratch.
_base_ = ['./addp_vit_base.py']

model = dict(
    _delete_=True,
    type='VQGAN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    tokenizer={{_base_.model.tokenizer}},
    codebook_reviver=dict(type='CodebookReviver', decay=0.99, dead_threshold=0.03),
    beta=0.25,
    # From scratch: an autoencoder first, then codes from its latents (see VQGAN).
    autoencoder_warmup_iters=2000)
# The codebook gets no gradient during the warm-up.
find_unused_parameters = True
