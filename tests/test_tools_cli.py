# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""CPU smoke tests of the command-line tools in ``tools/``.

``tools/train.py`` and ``tools/test.py`` run as subprocesses with the current
interpreter on a tiny plain-MMSeg ``EncoderDecoder`` and a synthetic dataset.
"""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOLS = osp.join(REPO_ROOT, 'tools')
SHELL_SCRIPTS = ('dist_train.sh', 'dist_test.sh', 'slurm_train.sh',
                 'slurm_test.sh', 'benchmark/camvid_cpu.sh',
                 'benchmark/camvid_pretrained.sh')

# A tiny ResNetV1c-18 / FCN on 32x32 inputs, 2 classes, trained for 2 iters.
TINY_CONFIG = """
default_scope = 'mmseg'
custom_imports = dict(imports=['mmseg_u2pl'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(32, 32))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        base_channels=8,
        stem_channels=8,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='FCNHead',
        in_channels=64,
        in_index=3,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

dataset_type = 'BaseSegDataset'
data_root = {data_root!r}
metainfo = dict(classes=('a', 'b'), palette=[[0, 0, 0], [255, 255, 255]])
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=metainfo,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        metainfo=metainfo,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=2,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
"""


def _env() -> dict:
    env = dict(os.environ)
    env['CUDA_VISIBLE_DEVICES'] = ''  # CPU only
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO_ROOT, env.get('PYTHONPATH')) if p)
    return env


def _run(args, cwd, timeout=600):
    proc = subprocess.run([sys.executable, *args],
                          cwd=cwd,
                          env=_env(),
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f'{" ".join(args)} exited with {proc.returncode}:\n{output[-6000:]}')
    return output


@pytest.mark.parametrize('tool', ['benchmark/semi_protocol.py', 'dataset_converters/camvid.py'])
def test_help_of_data_and_benchmark_tools(tool, tmp_path):
    output = _run([osp.join(TOOLS, tool), '--help'], cwd=str(tmp_path))
    assert '--out' in output


@pytest.mark.parametrize('tool', ['train.py', 'test.py'])
def test_help(tool, tmp_path):
    output = _run([osp.join(TOOLS, tool), '--help'], cwd=str(tmp_path))
    assert '--cfg-options' in output
    assert '--launcher' in output
    if tool == 'train.py':
        assert '--resume' in output
        assert '--amp' in output
    else:
        assert '--tta' in output
        assert '--show-dir' in output


@pytest.mark.parametrize('script', SHELL_SCRIPTS)
def test_shell_script_syntax(script):
    bash = shutil.which('bash')
    if bash is None:
        pytest.skip('bash is not available')
    proc = subprocess.run([bash, '-n', osp.join(TOOLS, script)],
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def _write_dataset(data_root: str, num: int = 4, size: int = 32) -> None:
    cv2 = pytest.importorskip('cv2')
    rng = np.random.default_rng(0)
    img_dir = osp.join(data_root, 'img_dir', 'train')
    ann_dir = osp.join(data_root, 'ann_dir', 'train')
    os.makedirs(img_dir)
    os.makedirs(ann_dir)
    for i in range(num):
        img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        label = rng.integers(0, 2, (size, size), dtype=np.uint8)
        assert cv2.imwrite(osp.join(img_dir, f'{i:03d}.png'), img)
        assert cv2.imwrite(osp.join(ann_dir, f'{i:03d}.png'), label)


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_seg')
    data_root = str(root / 'data')
    _write_dataset(data_root)
    config = root / 'tiny_fcn_r18.py'
    config.write_text(TINY_CONFIG.format(data_root=data_root))
    return str(config)


def test_train_then_test_end_to_end(tiny_config, tmp_path):
    work_dir = str(tmp_path / 'work_dir')
    out = _run([
        osp.join(TOOLS, 'train.py'), tiny_config, '--work-dir', work_dir
    ],
               cwd=str(tmp_path))
    ckpt = osp.join(work_dir, 'iter_2.pth')
    assert osp.isfile(ckpt), out[-6000:]
    # the val loop at iter 2 reports the IoU table as well
    assert 'mIoU' in out

    # `--resume` alone: auto-resume from the latest checkpoint in work_dir
    out = _run([
        osp.join(TOOLS, 'train.py'), tiny_config, '--work-dir', work_dir,
        '--resume', '--cfg-options', 'train_cfg.max_iters=4'
    ],
               cwd=str(tmp_path))
    assert 'Auto resumed from the latest checkpoint' in out, out[-6000:]
    assert 'resumed epoch: 0, iter: 2' in out, out[-6000:]
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth')), out[-6000:]

    # `--resume PATH`: resume from that checkpoint
    out = _run([
        osp.join(TOOLS, 'train.py'), tiny_config, '--work-dir', work_dir,
        '--resume', ckpt, '--cfg-options', 'train_cfg.max_iters=3'
    ],
               cwd=str(tmp_path))
    assert 'resumed epoch: 0, iter: 2' in out, out[-6000:]
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth')), out[-6000:]

    pred_dir = str(tmp_path / 'preds')
    out = _run([
        osp.join(TOOLS, 'test.py'), tiny_config, ckpt, '--work-dir',
        str(tmp_path / 'test_work_dir'), '--out', pred_dir
    ],
               cwd=str(tmp_path))
    assert 'mIoU' in out, out[-6000:]
    assert 'Unsupported global' not in out
    assert len(os.listdir(pred_dir)) == 4


def test_main_job_shows_training_progress_as_it_comes(tmp_path, capsys):
    """tools/run_demo.py echoes MMEngine's iteration lines (with the ETA) of
    the training it runs, and keeps the whole output in the log."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('run_demo', osp.join(TOOLS, 'run_demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    lines = ['11/30 05:00:00 - mmengine - INFO - Config: ...',
             '11/30 05:00:01 - mmengine - INFO - Iter(train) [ 50/800]  lr: 1e-02  '
             'eta: 0:01:40  time: 0.13  loss: 1.2',
             'Traceback-free noise',
             '11/30 05:00:09 - mmengine - INFO - Iter(test) [60/60]    aAcc: 70.0000  '
             'mIoU: 17.0000  mAcc: 23.0000']
    script = tmp_path / 'fake_train.py'
    script.write_text('import time\n' + ''.join(
        f'print({line!r}, flush=True)\ntime.sleep(0.01)\n' for line in lines))
    log = tmp_path / 'train.log'
    text = demo.run([sys.executable, str(script)], str(log))
    shown = capsys.readouterr().out.splitlines()
    assert shown == ['  Iter(train) [ 50/800]  lr: 1e-02  eta: 0:01:40  time: 0.13  loss: 1.2',
                     '  Iter(test) [60/60]    aAcc: 70.0000  mIoU: 17.0000  mAcc: 23.0000']
    assert text.splitlines() == lines and log.read_text().splitlines() == lines
    assert demo.parse_metrics(text) == dict(aAcc=70.0, mIoU=17.0, mAcc=23.0)
    # a failing command stops the job with the end of its log
    bad = tmp_path / 'bad.py'
    bad.write_text('print("Iter(train) [1/2]"); raise SystemExit(3)')
    with pytest.raises(SystemExit, match='command failed \\(3\\)'):
        demo.run([sys.executable, str(bad)], str(tmp_path / 'bad.log'))
