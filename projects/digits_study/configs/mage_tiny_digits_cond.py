# The class-conditional token predictor of the digits: the study's long recipe, reading each
# image's digit in its front token (`bash projects/digits_study/tools/run_study.sh --guidance`
# trains it).
#   python tools/train.py projects/digits_study/configs/mage_tiny_digits_cond.py \
#       --cfg-options model.tokenizer.checkpoint=work_dirs/digits_guidance/tokenizer.ckpt
_base_ = ['./mage_tiny_digits_long.py', './digits_classes.py']

model = dict(
    token_predictor={{_base_.class_condition}}, label_drop_prob={{_base_.label_drop_prob}})
train_dataloader = dict(dataset=dict(with_label=True))
