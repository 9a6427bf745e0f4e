# Class-conditional ADDP on the digits: the long recipe with the decoder and the frozen token
# predictor (projects/digits_study/configs/mage_tiny_digits_cond.py) reading each image's digit.
#   python tools/train.py projects/digits_study/configs/addp_tiny_digits_cond.py --cfg-options \
#       model.tokenizer.checkpoint=work_dirs/digits_guidance/tokenizer.ckpt \
#       model.token_predictor.checkpoint=work_dirs/digits_guidance/token_predictor.pth
# Sampling a class, guided:
#   python tools/generate.py projects/digits_study/configs/addp_tiny_digits_cond.py CKPT \
#       --classes 7 --per-class 16 --cfg-scale 3 --out DIR
_base_ = ['./addp_tiny_digits_long.py', './digits_classes.py']

model = dict(
    neck={{_base_.class_condition}}, token_predictor={{_base_.class_condition}},
    label_drop_prob={{_base_.label_drop_prob}})
train_dataloader = dict(dataset=dict(with_label=True))
