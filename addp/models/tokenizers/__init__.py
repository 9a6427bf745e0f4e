from .token_predictor import MAGE_ARCHS, MAGETokenPredictor
from .vqgan import VQGANTokenizer

__all__ = ['VQGANTokenizer', 'MAGETokenPredictor', 'MAGE_ARCHS']
