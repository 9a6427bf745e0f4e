"""Installs the ``addp`` package; the stack itself is pinned in ``requirements/``."""
import os.path as osp

from setuptools import find_packages, setup


def parse_requirements(fname: str) -> list:
    """Reads one requirements file, skipping comments and nested ``-r`` lines."""
    with open(osp.join(osp.dirname(__file__), fname)) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line and not line.startswith('-')]


def get_version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'addp', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='addp',
    version=get_version(),
    description='ADDP: alternating denoising diffusion for image recognition and generation, '
    'on MMEngine',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'projects')),
    python_requires='>=3.8',
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'mim': parse_requirements('requirements/mminstall.txt'),
        'ops': parse_requirements('requirements/ops.txt'),
        'demo': parse_requirements('requirements/demo.txt'),
        'tests': parse_requirements('requirements/tests.txt'),
    },
    license='Apache License 2.0',
    zip_safe=False,
)
