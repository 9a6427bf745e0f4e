# The MNIST study's data and length, written once for every recipe here (each reads them as
# {{_base_.mnist_*}}): MNIST-5k, 2,400 steps of 64 (38 epochs of 4,000 images), the
# pretraining runs kept every 600 steps so that the study reads them at 10, 19, 29 and 38.
mnist_data_root = 'data/mnist'
mnist_max_iters = 2400
mnist_read_every = 600
mnist_param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=mnist_max_iters,
         T_max=mnist_max_iters - 100, eta_min=1e-5),
]
