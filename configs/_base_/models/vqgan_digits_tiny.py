# Training the digits demo's tokenizer: the tokenizer of addp_digits_tiny.py.
_base_ = ['./addp_digits_tiny.py']

model = dict(
    _delete_=True,
    type='VQGAN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    tokenizer={{_base_.model.tokenizer}},
    codebook_reviver=dict(type='CodebookReviver', decay=0.99, dead_threshold=0.03),
    beta=0.25)
