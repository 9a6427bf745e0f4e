# ADDP ViT-B/16 fine-tuned with the released ImageNet recipe on your own images:
#   data/custom/train/<class name>/*.jpg and data/custom/val/<class name>/*.jpg
# The number of classes is read from the class subfolders when the runner starts.
_base_ = './finetune_base_100e_in1k.py'

# sets model.head.num_classes (and the mixup/cutmix targets) from the data
runner_type = 'ClassesFromDataRunner'

data_root = 'data/custom'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
