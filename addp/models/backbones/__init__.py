from .addp_vit import ADDP_VIT_ARCHS, ADDPViT

__all__ = ['ADDPViT', 'ADDP_VIT_ARCHS']
