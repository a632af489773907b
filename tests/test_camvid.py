# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CamVid: converter, dataset, committed splits and the benchmark configs."""
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmseg.registry import DATASETS, MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAMVID_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs/camvid/*.py')))
# every protocol base configs/_base_/camvid_{protocol}.py, selected by CAMVID_PROTOCOL
PROTOCOLS = sorted(osp.basename(p)[len('camvid_'):-3]
                   for p in glob.glob(osp.join(ROOT, 'configs/_base_/camvid_*.py')))


def test_protocols_and_the_default():
    assert PROTOCOLS == ['cpu', 'gpu', 'pretrained', 'pretrained-360x270']
    cfg = Config.fromfile(osp.join(ROOT, 'configs/camvid/u2pl.py'))  # no variable set
    assert cfg.model.segmentor.backbone.type == 'TIMMBackbone'  # pretrained
    assert cfg.train_cfg.max_iters == 1500


def fake_camvid(root, n=3):
    rng = np.random.default_rng(0)
    for subset in ('train', 'val'):
        (root / subset).mkdir(parents=True)
        (root / f'{subset}annot').mkdir()
        for i in range(n):
            name = f'0001TP_{i:06d}.png'
            cv2.imwrite(str(root / subset / name), rng.integers(0, 255, (36, 48, 3), np.uint8))
            label = rng.integers(0, 12, (36, 48), dtype=np.uint8)  # 11 = Unlabelled
            cv2.imwrite(str(root / f'{subset}annot' / name), label)


def test_converter_maps_unlabelled_to_255_and_links_images(tmp_path):
    src = tmp_path / 'camvid_src'
    fake_camvid(src)
    out = tmp_path / 'data/camvid'
    for _ in range(2):  # running it again replaces the output
        proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/camvid.py'),
                               '--src', str(src), '--out', str(out)], capture_output=True,
                              text=True)
        assert proc.returncode == 0, proc.stderr
    assert 'train 3, val 3' in proc.stdout
    for subset in ('train', 'val'):
        for name in sorted((src / subset).iterdir()):
            img = out / 'img_dir' / subset / name.name
            assert img.is_symlink() and osp.samefile(img, name)
            orig = cv2.imread(str(src / f'{subset}annot' / name.name), cv2.IMREAD_UNCHANGED)
            conv = cv2.imread(str(out / 'ann_dir' / subset / name.name), cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(conv, np.where(orig == 11, 255, orig))
    ds = DATASETS.build(dict(type='CamVidDataset', data_root=str(out),
                             data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
                             pipeline=[dict(type='LoadImageFromFile'),
                                       dict(type='LoadAnnotations'),
                                       dict(type='CheckSegMap', num_classes=11)]))
    assert len(ds) == 3 and len(ds.metainfo['classes']) == 11
    assert set(np.unique(ds[0]['gt_seg_map'])) <= set(range(11)) | {255}


def test_converter_refuses_a_bad_source(tmp_path):
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/camvid.py'),
                           '--src', str(tmp_path / 'nope'), '--out', str(tmp_path / 'out')],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and 'CamVid folder not found' in proc.stderr


@pytest.mark.parametrize('split,num_labeled', [('1-16', 23), ('1-8', 46), ('1-4', 92)])
def test_committed_splits(split, num_labeled):
    stems = []
    for seed in range(3):
        d = osp.join(ROOT, 'data/splits/camvid', split, f'seed{seed}')
        lab = open(osp.join(d, 'labeled.txt')).read().split()
        unl = open(osp.join(d, 'unlabeled.txt')).read().split()
        assert len(lab) == num_labeled and len(unl) == 367 - num_labeled
        assert not set(lab) & set(unl)
        stems.append(set(lab))
    assert len({frozenset(s) for s in stems}) == 3  # the seeds draw different images


@pytest.mark.parametrize('protocol', PROTOCOLS)
@pytest.mark.parametrize('path', CAMVID_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_camvid_config_builds_with_the_protocols_schedule(path, protocol, monkeypatch):
    monkeypatch.setenv('CAMVID_PROTOCOL', protocol)
    cfg = Config.fromfile(path)
    # as MMEngine's Runner builds it: a model without its own data_preprocessor
    # gets the config's top-level one (which must then be the segmentor's)
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)
    ref = Config.fromfile(osp.join(osp.dirname(path), 'u2pl.py'))
    # identical schedule, augmentation, labeled batch, evaluation and seed
    assert cfg.train_cfg == ref.train_cfg and cfg.param_scheduler == ref.param_scheduler
    assert cfg.optim_wrapper == ref.optim_wrapper and cfg.randomness == ref.randomness
    assert cfg.val_dataloader == ref.val_dataloader and cfg.val_evaluator == ref.val_evaluator
    labeled = cfg.train_dataloader.dataset.get('labeled', cfg.train_dataloader.dataset.get(
        'dataset'))
    assert labeled == ref.train_dataloader.dataset.labeled
    seg = getattr(model, 'student', model)
    assert seg.decode_head.num_classes == 11
    if protocol.startswith('pretrained'):
        assert seg.backbone.init_cfg['type'] == 'CheckedPretrained'
        assert type(seg.backbone.timm_model).__name__ == 'EfficientNetFeatures'
    else:
        assert seg.backbone.depth == (18 if protocol == 'cpu' else 50)
    name = osp.basename(path)[:-3]
    if name == 'suponly':
        assert cfg.train_dataloader.batch_size == ref.train_dataloader.sampler.labeled_per_batch
        return
    if name in ('mean-teacher', 'cps'):
        assert type(model).__name__ == {'mean-teacher': 'MeanTeacherSegmentor',
                                        'cps': 'CPSSegmentor'}[name]
        assert cfg.train_dataloader == ref.train_dataloader  # the same 4 + 4 batches
        hooks = [h.type for h in cfg.custom_hooks]
        assert hooks == (['SemiScheduleHook'] if name == 'cps' else
                         ['SemiScheduleHook', 'MeanTeacherHook'])
        assert cfg.custom_hooks[0] == ref.custom_hooks[0]  # the same warm start
        return
    if name == 'dars':  # a plain segmentor on labeled + pseudo-labeled images, 4 + 4
        assert type(model).__name__ == 'EncoderDecoder'
        assert cfg.train_dataloader.sampler == ref.train_dataloader.sampler
        assert cfg.train_dataloader.dataset.unlabeled.pipeline == labeled.pipeline
        return
    if name in ('ael', 'u2pl-ael', 'esl'):
        assert type(model).__name__ == {'ael': 'AELSegmentor', 'u2pl-ael': 'U2PLAELSegmentor',
                                        'esl': 'ESLSegmentor'}[name]
        assert cfg.train_dataloader == ref.train_dataloader
        assert cfg.custom_hooks == ref.custom_hooks  # warm start and EMA teacher
        if name == 'u2pl-ael':
            assert cfg.model.contrastive_head == ref.model.contrastive_head
            assert cfg.model.memory_bank == ref.model.memory_bank
        return
    if name == 'cutmix-seg':
        assert type(model).__name__ == 'CutMixSegSegmentor'
    head = model.student.contrastive_head if getattr(model, 'with_contrast', False) else None
    dynamic = model.semi_train_cfg.get('dynamic_partition', True)  # CutMix-Seg: no alpha
    expected = {  # (L_c, queue, DPA, PRT, high-entropy negatives, alpha_0) of Tab. 6
        'u2pl': (True, True, True, True, True, 0.2),
        'u2pl-lb': (True, True, True, True, True, 0.2),
        'cutmix-seg': (False, False, True, None, None, 0.0),
        'u2pl_tab6-row1_no-lc': (False, False, True, None, None, 0.2),
        'u2pl_tab6-row2_lc-only': (True, False, False, False, False, 0.2),
        'u2pl_tab6-row3_no-dpa': (True, True, False, True, True, 0.2),
        'u2pl_tab6-row4_no-prt': (True, True, True, False, True, 0.2),
        'u2pl_tab6-row5_no-unreliable': (True, True, True, True, False, 0.2),
        'u2pl_authors-code': (True, True, True, True, True, 0.2),
    }[name]
    got = (head is not None, getattr(model, 'memory_bank', None) is not None, dynamic,
           None if head is None else head.use_rank_threshold,
           None if head is None else head.negatives_from == 'unreliable',
           model.semi_train_cfg.get('alpha_0', 0.0))  # CutMix-Seg: every pixel
    assert got == expected
    if name == 'u2pl-lb':
        assert head.loss_type == 'binary'
    if head is not None:
        assert head.reference == ('authors_code' if name == 'u2pl_authors-code' else 'paper')
    mt = [h for h in cfg.custom_hooks if h.type == 'MeanTeacherHook'][0]
    assert mt.get('reset_first_epoch', False) == (name == 'u2pl_authors-code')


@pytest.mark.slow
def test_tools_test_evaluates_a_checkpoint_on_a_split_list(tmp_path, monkeypatch):

    src = tmp_path / 'camvid_src'
    fake_camvid(src)
    subprocess.run([sys.executable, osp.join(ROOT, 'tools/dataset_converters/camvid.py'),
                    '--src', str(src), '--out', str(tmp_path / 'data/camvid')], check=True,
                   capture_output=True)
    cfg_path = osp.join(ROOT, 'configs/camvid/u2pl.py')
    monkeypatch.setenv('CAMVID_PROTOCOL', 'cpu')  # the children inherit it
    model = MODELS.build(Config.fromfile(cfg_path).model)
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ckpt.pth')
    split = tmp_path / 'two.txt'
    split.write_text('0001TP_000000\n0001TP_000002\n')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/test.py'), cfg_path, str(tmp_path / 'ckpt.pth'),
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         f'test_dataloader.dataset.data_root={tmp_path}/data/camvid',
         'test_dataloader.dataset.data_prefix.img_path=img_dir/train',
         'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train',
         f'test_dataloader.dataset.ann_file={split}', 'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False'],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=ROOT))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'Iter(test) [2/2]' in out and 'mIoU' in out
    # the pseudo-label diagnostic on the same checkpoint and list
    out_json = tmp_path / 'quality.json'
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/benchmark/pseudo_label_quality.py'), cfg_path,
         str(tmp_path / 'ckpt.pth'), '--split-list', str(split), '--batch', '2', '--out',
         str(out_json), '--cfg-options',
         f'train_dataloader.dataset.unlabeled.data_root={tmp_path}/data/camvid',
         f'test_dataloader.dataset.data_root={tmp_path}/data/camvid'],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]

    result = json.loads(out_json.read_text())
    assert result['images'] == 2 and result['alpha'] == 0.2
    assert result['reliable']['fraction'] == pytest.approx(80, abs=1)
    assert set(result['per_class']) == set(DATASETS.get('CamVidDataset').METAINFO['classes'])
    assert '| reliable |' in proc.stdout
    assert '2/2' in proc.stderr and 'ETA' in proc.stderr  # MMEngine's progress bar
