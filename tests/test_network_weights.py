# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""network_of / network_state_dict: the one way the tools (export, DARS
pseudo-labelling) pick a network out of a checkpoint and check its keys."""
import pytest
import torch
from mmengine.config import ConfigDict

from mmseg.registry import MODELS
from mmseg_u2pl.utils import network_of, network_state_dict
from _tiny import tiny_segmentor_cfg, tiny_u2pl_cfg


def plain_state():
    return MODELS.build(ConfigDict(tiny_segmentor_cfg())).state_dict()


def test_the_evaluated_network_is_picked_by_default():
    assert network_of(tiny_segmentor_cfg()) is None
    assert network_of(tiny_u2pl_cfg()) == 'teacher'
    assert network_of(dict(type='CPSSegmentor', segmentor=tiny_segmentor_cfg())) == 'student'
    assert network_of(dict(tiny_u2pl_cfg(), semi_test_cfg=dict(predict_on='student'))) == \
        'student'
    assert network_of(tiny_u2pl_cfg(), 'student') == 'student'


def test_a_wrapper_checkpoint_gives_its_networks_weights():
    wrapper = MODELS.build(ConfigDict(tiny_u2pl_cfg()))
    with torch.no_grad():  # teacher and student differ, so a mix-up shows
        for p in wrapper.teacher.parameters():
            p.add_(1.0)
    state, own = wrapper.state_dict(), plain_state()
    # the wrapper's own heads and bank stay behind
    assert any(k.startswith('teacher.contrastive_head.') for k in state)
    assert any(k.startswith('memory_bank.') for k in state)
    for network in ('teacher', 'student'):
        got = network_state_dict(tiny_u2pl_cfg(), state, own, 'c.pth', 'u2pl.py', network)
        assert list(got) == list(own)
        for k, v in got.items():  # the network's own tensor, by name
            assert torch.equal(v, state[f'{network}.{k}']), k
    default = network_state_dict(tiny_u2pl_cfg(), state, own, 'c.pth', 'u2pl.py')
    assert all(torch.equal(default[k], state[f'teacher.{k}']) for k in own)


def test_a_checkpoint_of_another_network_is_refused_naming_file_config_and_key():
    own = plain_state()
    state = dict(own)
    with pytest.raises(ValueError, match=r'checkpoint c\.pth does not hold the network of '
                       r'config u2pl\.py: it has no teacher network'):
        network_state_dict(tiny_u2pl_cfg(), state, own, 'c.pth', 'u2pl.py')
    first = next(iter(own))
    missing = {k: v for k, v in state.items() if k != first}
    with pytest.raises(ValueError, match=rf"key '{first}' of the network is missing"):
        network_state_dict(tiny_segmentor_cfg(), missing, own, 'c.pth', 'plain.py')
    key = 'decode_head.conv_seg.weight'
    shaped = dict(state, **{key: torch.zeros(7, *own[key].shape[1:])})
    with pytest.raises(ValueError, match=rf"key '{key}' has shape \(7, .*\) in the checkpoint, "
                       rf"\({own[key].shape[0]}, "):
        network_state_dict(tiny_segmentor_cfg(), shaped, own, 'c.pth', 'plain.py')
    with pytest.raises(ValueError, match=r"key 'extra\.weight' of the checkpoint is not in"):
        network_state_dict(tiny_segmentor_cfg(), dict(state, **{'extra.weight': own[key]}),
                           own, 'c.pth', 'plain.py')
