"""The ADDP web demo: one model that generates, repaints and classifies."""
from .app import build_app, launch
from .models import DemoLimits, DemoModels, RepaintResult, SamplingOptions

__all__ = ['DemoLimits', 'DemoModels', 'RepaintResult', 'SamplingOptions', 'build_app', 'launch']
