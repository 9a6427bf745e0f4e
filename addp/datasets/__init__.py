"""Data that ships with ADDP: the demo images, drawn on first use."""
from .demo_images import draw_demo_image, prepare_demo_data, write_demo_images

__all__ = ['draw_demo_image', 'write_demo_images', 'prepare_demo_data']
