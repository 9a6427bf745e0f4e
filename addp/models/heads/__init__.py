from .addp_head import ADDPPretrainHead, MaskedSoftCrossEntropyLoss

__all__ = ['ADDPPretrainHead', 'MaskedSoftCrossEntropyLoss']
