# Training the digits demo's tokenizer: the tokenizer of addp_digits_tiny.py.
_base_ = ['./addp_digits_tiny.py']

model = dict(
    _delete_=True,
    type='VQGAN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    tokenizer={{_base_.model.tokenizer}},
    # A 10-step usage average: a code unused for ~35 of the 1,200 steps restarts (0.99: ~350).
    codebook_reviver=dict(type='CodebookReviver', decay=0.9, dead_threshold=0.03),
    beta=0.25,
    # The squared error that PSNR measures: on MNIST 19.13 dB held out against L1's 17.13.
    pixel_loss='mse',
    # From scratch: an autoencoder first, then codes from its latents (see VQGAN).
    autoencoder_warmup_iters=100)
# The codebook gets no gradient during the warm-up.
find_unused_parameters = True
