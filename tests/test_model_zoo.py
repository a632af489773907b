# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The model zoo: each method folder has a README and a metafile that list
exactly its configs (tools/misc/write_model_zoo.py writes them)."""
import glob
import os.path as osp

import pytest
import yaml

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FOLDERS = sorted(osp.basename(osp.dirname(p)) for p in
                 glob.glob(osp.join(ROOT, 'configs', '*', '*.py'))
                 if '/_base_/' not in p and '/camvid/' not in p)


@pytest.mark.parametrize('folder', sorted(set(FOLDERS)))
def test_readme_and_metafile_list_exactly_the_configs(folder):
    configs = sorted(osp.relpath(p, ROOT) for p in
                     glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))
    meta = yaml.safe_load(open(osp.join(ROOT, 'configs', folder, 'metafile.yaml')))
    (collection, ) = meta['Collections']
    assert collection['README'] == f'configs/{folder}/README.md'
    listed = sorted(m['Config'] for m in meta['Models'])
    assert listed == configs, 'run python tools/misc/write_model_zoo.py'
    for m in meta['Models']:
        assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
        assert m['In Collection'] == collection['Name']
    readme = open(osp.join(ROOT, 'configs', folder, 'README.md')).read()
    for c in configs:
        assert f'({osp.basename(c)})' in readme
