# Your own images for the three pretraining stages, at 256 px, labels unused:
#   data/custom/train/**/*.{jpg,png,...}   (any folder layout)
#   data/custom/val/**/*.{jpg,png,...}     (held-out images, for the tokenizer's PSNR)
# The ImageNet pretraining pipeline and loader, reading a folder instead of ImageNet.
_base_ = ['./imagenet_bs64_addp_pretrain.py']

data_root = 'data/custom'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
