from .addp_decoder import ADDPDecoder

__all__ = ['ADDPDecoder']
