from .mage_token_predictor import MAGE_ARCHS, MAGETokenPredictor
from .vqgan_tokenizer import VQGANTokenizer

__all__ = ['VQGANTokenizer', 'MAGETokenPredictor', 'MAGE_ARCHS']
