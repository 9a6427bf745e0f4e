from .addp_decoder import ADDPDecoder, DecoderOutput

__all__ = ['ADDPDecoder', 'DecoderOutput']
