# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""tools/benchmark/authors_side_by_side.py without the authors' code (CI has
no clone of it): the repository check, the options, the ratios / goals /
table, our config edit and the shared batch. With ``U2PL_AUTHORS_REPO`` set
to a clone, one tiny step of each side also runs."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOOL = osp.join(ROOT, 'tools/benchmark/authors_side_by_side.py')
GIB = 2**30


def load_tool():
    spec = importlib.util.spec_from_file_location('authors_side_by_side', TOOL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sbs = load_tool()


def fake_repo(path, skip=()):
    for rel in sbs.AUTHORS_FILES:
        if rel in skip:
            continue
        os.makedirs(osp.dirname(osp.join(path, rel)) or str(path), exist_ok=True)
        with open(osp.join(path, rel), 'w') as f:
            f.write('')
    return str(path)


def test_a_path_that_is_not_their_repo_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        sbs.parse_args(['--authors-repo', str(tmp_path)])
    err = capsys.readouterr().err
    assert 'train_semi.py' in err and "not the authors' U2PL repository" in err
    repo = fake_repo(tmp_path / 'clone', skip=('u2pl/utils/loss_helper.py', ))
    with pytest.raises(FileNotFoundError, match='lacks u2pl/utils/loss_helper.py'):
        sbs.check_authors_repo(repo)
    with pytest.raises(FileNotFoundError, match='no such directory'):
        sbs.check_authors_repo(str(tmp_path / 'missing'))


def test_defaults_and_options(tmp_path):
    repo = fake_repo(tmp_path)
    args = sbs.parse_args(['--authors-repo', repo])
    assert args.authors_repo == osp.abspath(repo)
    assert args.crop == [769, 769] and (args.labeled, args.unlabeled) == (2, 2)
    assert (args.iters, args.warmup, args.rounds) == (10, 3, 3)
    assert args.network == 'matched' and args.bank == 'full' and args.floor
    assert args.json is None and args.side is None and args.logit_std == 8.0
    assert args.amp == 'none'
    assert args.device == ('cuda' if torch.cuda.is_available() else 'cpu')
    args = sbs.parse_args(['--authors-repo', repo, '--device', 'cpu', '--crop', '65', '97',
                           '--labeled', '1', '--unlabeled', '3', '--iters', '2', '--warmup',
                           '0', '--rounds', '1', '--no-floor', '--json', 'x.json'])
    assert args.crop == [65, 97] and (args.labeled, args.unlabeled) == (1, 3)
    assert not args.floor and args.json == 'x.json'
    cmd = sbs.child_command('authors', args)
    assert cmd[cmd.index('--side') + 1] == 'authors' and '--no-floor' in cmd
    assert sbs.parse_args(cmd[2:]).crop == [65, 97]
    # our side's mixed precision reaches the children
    args = sbs.parse_args(['--authors-repo', repo, '--amp', 'bf16', '--device', 'cuda'])
    assert sbs.parse_args(sbs.child_command('ours', args)[2:]).amp == 'bf16'
    for bad in (['--iters', '0'], ['--rounds', '0'], ['--warmup', '-1'], ['--crop', '16', '16'],
                ['--amp', 'fp8'], ['--amp', 'bf16', '--device', 'cpu']):
        with pytest.raises(SystemExit):
            sbs.parse_args(['--authors-repo', repo] + bad)


def test_compare_against_hand_computed_values():
    # theirs 1.2 s, ours 0.5 s: 2.4x the steps per second; 6 / 12 GiB = 0.5
    out = sbs.compare(0.5, 1.2, 6 * GIB, 12 * GIB, cityscapes_setting=True)
    assert out['throughput_ratio'] == pytest.approx(2.4)
    assert out['memory_ratio'] == pytest.approx(0.5)
    assert out['ours_steps_per_s'] == pytest.approx(2.0)
    assert out['authors_steps_per_s'] == pytest.approx(1 / 1.2)
    assert out['goals']['throughput']['met'] and out['goals']['memory']['met']
    assert out['conclusive']
    # 1.5 / 1.0 = 1.5x < 2x; 9 / 12 = 0.75 > 0.6
    out = sbs.compare(1.0, 1.5, 9 * GIB, 12 * GIB, cityscapes_setting=False)
    assert out['throughput_ratio'] == pytest.approx(1.5)
    assert out['memory_ratio'] == pytest.approx(0.75)
    assert not out['goals']['throughput']['met'] and not out['goals']['memory']['met']
    # the bounds count as met: exactly 2x, exactly 0.6x
    out = sbs.compare(0.5, 1.0, 3.0, 5.0, cityscapes_setting=True)
    assert out['goals']['throughput']['met'] and out['goals']['memory']['met']
    with pytest.raises(ValueError):
        sbs.compare(0.0, 1.0, 1.0, 1.0, True)


def test_table_and_setting():
    assert sbs.is_cityscapes_setting((769, 769), 2, 2, 'cuda')
    assert sbs.is_cityscapes_setting([769, 769], 2, 2, 'cuda:0')
    assert not sbs.is_cityscapes_setting((769, 769), 2, 2, 'cpu')
    assert not sbs.is_cityscapes_setting((129, 129), 2, 2, 'cuda')
    assert not sbs.is_cityscapes_setting((769, 769), 1, 2, 'cuda')
    table = sbs.format_table(sbs.compare(0.5, 1.2, 6 * GIB, 12 * GIB, True), 'kind')
    rows = {line.split('  ')[0]: line for line in table.splitlines()}
    assert '2.40' in rows['throughput (steps/s)'] and '>= 2x: met' in table
    assert '0.50' in rows['peak memory (GiB)'] and '<= 0.6x: met' in table
    assert '6.000' in rows['peak memory (GiB)'] and '12.000' in rows['peak memory (GiB)']
    assert 'indicative only' not in table
    summary = sbs.compare(1.0, 1.5, 9 * GIB, 12 * GIB, False)
    summary.update(ours_host_rss_delta_bytes=GIB, authors_host_rss_delta_bytes=2 * GIB)
    table = sbs.format_table(summary, 'kind')
    assert '>= 2x: not met' in table and '<= 0.6x: not met' in table
    assert 'indicative only' in table and 'host RSS increase' in table


def test_summarize_pools_the_rounds():
    def run(times, peak, floor=None):
        return dict(step_times_s=times, peak_memory_bytes=peak, floor_times_s=floor,
                    host_rss_delta_bytes=peak)

    runs = dict(ours=[run([1.0, 3.0], 5 * GIB, [0.5]), run([2.0], 4 * GIB, [0.5, 1.5])],
                authors=[run([4.0, 6.0], 10 * GIB, [1.0]), run([5.0], 8 * GIB, [1.0])])
    out = sbs.summarize_runs(runs, (769, 769), 2, 2, 'cuda')
    assert out['ours_step_s'] == 2.0 and out['authors_step_s'] == 5.0  # pooled medians
    assert out['ours_peak_bytes'] == 5 * GIB and out['authors_peak_bytes'] == 10 * GIB
    assert out['throughput_ratio'] == pytest.approx(2.5) and out['memory_ratio'] == 0.5
    assert out['ours_floor_s'] == 0.5 and out['ours_step_over_floor'] == 4.0
    assert out['conclusive']


def test_cuda_as_noop_restores():
    tensor_cuda, module_cuda = torch.Tensor.cuda, torch.nn.Module.cuda
    x, net = torch.zeros(2), torch.nn.Linear(2, 2)
    with sbs.cuda_as_noop(True):
        assert x.cuda() is x and net.cuda() is net
    assert torch.Tensor.cuda is tensor_cuda and torch.nn.Module.cuda is module_cuda
    with pytest.raises(RuntimeError), sbs.cuda_as_noop(True):
        raise RuntimeError
    assert torch.Tensor.cuda is tensor_cuda and torch.nn.Module.cuda is module_cuda


def test_our_config_edit():
    from mmengine.config import Config

    from mmseg_u2pl.engine import train_crop_size
    cfg = Config.fromfile(sbs.OUR_CONFIG)
    sbs.edit_our_config((129, 97), 1, 3, 'matched')(cfg)
    assert train_crop_size(cfg) == (129, 97)
    sampler = cfg.train_dataloader.sampler
    assert (sampler.labeled_per_batch, sampler.unlabeled_per_batch) == (1, 3)
    backbone = cfg.model.segmentor.backbone
    assert backbone.stem_channels == 128 and tuple(backbone.multi_grid) == (4, 8, 16)
    cfg = Config.fromfile(sbs.OUR_CONFIG)
    sbs.edit_our_config((769, 769), 2, 2, 'config')(cfg)
    assert 'multi_grid' not in cfg.model.segmentor.backbone


def test_both_sides_get_the_same_batch():
    """generated_batch (theirs) == step_profile.make_batch (ours), on the
    tiny synthetic config."""
    sys.path.insert(0, osp.dirname(TOOL))
    from step_profile import build, make_batch

    from mmseg_u2pl.engine import train_crop_size
    cfg, model, _, _ = build(osp.join(ROOT, 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'),
                             'cpu', 'none')
    data = make_batch(cfg, model, 'cpu')
    n_l = cfg.train_dataloader.sampler.labeled_per_batch
    n_u = cfg.train_dataloader.sampler.unlabeled_per_batch
    H, W = train_crop_size(cfg)
    x_l, y_l, x_u = sbs.generated_batch(n_l, n_u, H, W, model.num_classes, 'cpu')
    torch.testing.assert_close(torch.cat([x_l, x_u]), data['inputs'])
    gt = torch.stack([ds.gt_sem_seg.data[0] for ds in data['data_samples'][:n_l]])
    assert torch.equal(y_l, gt.long())


@pytest.mark.skipif(not os.environ.get('U2PL_AUTHORS_REPO'),
                    reason='U2PL_AUTHORS_REPO (a clone of the authors\' code) not set')
def test_one_tiny_step_each_side():
    proc = subprocess.run(
        [sys.executable, TOOL, '--authors-repo', os.environ['U2PL_AUTHORS_REPO'], '--device',
         'cpu', '--crop', '33', '33', '--iters', '1', '--warmup', '0', '--rounds', '1',
         '--no-floor'], capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert '[ours] first step losses' in out and '[authors] first step losses' in out
