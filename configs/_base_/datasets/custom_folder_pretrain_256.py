# Your own images for the three pretraining stages, at 256 px, labels unused:
#   data/custom/train/**/*.{jpg,png,...}   (any folder layout; the tokenizer recipe holds a
#                                           fixed-seed share of it out for its validation)
# The ImageNet pretraining pipeline and loader, reading a folder instead of ImageNet. Every file
# is checked before training (CheckedCustomDataset): unreadable or unsupported ones are named
# and stop the run (bad_files='skip' trains without them); hidden files are ignored, and
# transparent images are composited onto white (LoadAnyImageFromFile's background).
_base_ = ['./imagenet_bs64_addp_pretrain.py']

data_root = 'data/custom'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='train',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
