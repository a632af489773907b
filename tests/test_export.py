# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""A trained network leaves the package: tools/export.py writes a plain MMSeg
config + tensors-only checkpoint that plain MMSeg loads without this package
(in a subprocess where ``import mmseg_u2pl`` fails) and that predicts what
the wrapped model predicts; mmseg's init_model works on a wrapper config."""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from test_resume import train, workers

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
pytestmark = pytest.mark.slow

PLAIN = r'''
import json, sys
sys.modules['mmseg_u2pl'] = None  # the package is not installed here
import numpy as np, torch
from mmseg.apis import inference_model, init_model
model = init_model(sys.argv[1], sys.argv[2], device='cpu')  # torch safe loading
img = np.load(sys.argv[3])
out = inference_model(model, img)
np.save(sys.argv[4], out.seg_logits.data.numpy())
print(json.dumps(dict(classes=list(model.dataset_meta['classes']))))
'''


@pytest.mark.parametrize('method,config', [
    ('u2pl', 'configs/u2pl/u2pl_r18-tiny_synthetic_1-16.py'),
    ('cps', 'configs/cps/cps_r18-tiny_synthetic_1-16.py')])
def test_export_loads_in_plain_mmseg_and_predicts_the_same(tmp_path, method, config):
    from _tiny import make_synthetic_split
    make_synthetic_split(tmp_path, seed=3)
    cfg = osp.join(ROOT, config)
    train([cfg, '--work-dir', 'run', '--cfg-options', *workers(0), 'train_cfg.max_iters=2',
           'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
           'custom_hooks.0.warm_start_epochs=0'], tmp_path)
    env = dict(os.environ, PYTHONPATH=f'{ROOT}/tests:{ROOT}', OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools/export.py'), cfg,
                           'run/iter_2.pth', 'exported'], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    name = osp.splitext(osp.basename(config))[0]
    exported_cfg = (tmp_path / 'exported' / f'{name}.py').read_text()
    assert 'mmseg_u2pl' not in exported_cfg and 'CheckSegMap' not in exported_cfg
    assert 'SyntheticShapesDataset' not in exported_cfg
    torch.load(tmp_path / 'exported' / f'{name}.pth', weights_only=True)
    # the wrapped model, through mmseg's own init_model on the wrapper config
    import mmseg_u2pl
    from mmseg.apis import MMSegInferencer, inference_model, init_model
    mmseg_u2pl.register_checkpoint_safe_globals()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        wrapped = init_model(cfg, 'run/iter_2.pth', device='cpu')
        img = (np.random.default_rng(0).random((96, 96, 3)) * 255).astype(np.uint8)
        expected = inference_model(wrapped, img).seg_logits.data.numpy()
        # and through MMSeg's inferencer, which builds the wrapper config itself
        inferencer = MMSegInferencer(model=cfg, weights='run/iter_2.pth', device='cpu')
        inferred = inferencer(img, return_datasamples=True).seg_logits.data.numpy()
        assert type(inferencer.model).__name__ == type(wrapped).__name__
        assert np.allclose(inferred, expected, atol=1e-6)
    finally:
        os.chdir(cwd)
    np.save(tmp_path / 'img.npy', img)
    # plain MMSeg, in a process where the package cannot be imported
    script = tmp_path / 'plain.py'
    script.write_text(PLAIN)
    plain_env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = subprocess.run([sys.executable, str(script), f'exported/{name}.py',
                           f'exported/{name}.pth', 'img.npy', 'out.npy'], cwd=tmp_path,
                          env=dict(plain_env, OMP_NUM_THREADS='1'), capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    got = np.load(tmp_path / 'out.npy')
    assert np.allclose(got, expected, atol=1e-5)
    classes = json.loads(proc.stdout.strip().splitlines()[-1])['classes']
    assert len(classes) == 6
