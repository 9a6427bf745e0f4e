# Class conditioning of the digits models: the ten digit classes, read from the class folders
# (data/digits/train/<digit>/), with MAGE's label dropout for classifier-free guidance.
class_condition = dict(class_conditional=True, num_classes=10)
label_drop_prob = 0.1
