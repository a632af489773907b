# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""The model zoo: each method folder has a README and a metafile that list
exactly its configs (tools/misc/write_model_zoo.py writes them)."""
import glob
import importlib.util
import json
import os.path as osp

import numpy as np
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
    own = [m for m in meta['Models'] if not m['Config'].startswith('configs/camvid/')]
    listed = sorted(m['Config'] for m in own)
    assert listed == configs, 'run python tools/misc/write_model_zoo.py'
    for m in meta['Models']:
        name = osp.splitext(osp.basename(m['Config']))[0]
        assert m['Name'] == (f'camvid_{name}' if m['Config'].startswith('configs/camvid/')
                             else name)
        assert osp.isfile(osp.join(ROOT, m['Config']))
        assert m['In Collection'] == collection['Name']
    readme = open(osp.join(ROOT, 'configs', folder, 'README.md')).read()
    for c in configs:
        assert f'({osp.basename(c)})' in readme


def load_writer():
    spec = importlib.util.spec_from_file_location(
        'write_model_zoo', osp.join(ROOT, 'tools/misc/write_model_zoo.py'))
    writer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(writer)
    return writer


@pytest.mark.parametrize('folder', sorted(set(FOLDERS)))
def test_zoo_files_are_what_the_writer_makes_of_the_configs_and_records(folder):
    """The committed README / metafile equal the writer's output: a config or a
    benchmark record added without re-running the writer fails here."""
    readme, meta = load_writer().render(folder)
    assert open(osp.join(ROOT, 'configs', folder, 'README.md')).read() == readme, \
        'run python tools/misc/write_model_zoo.py'
    assert open(osp.join(ROOT, 'configs', folder, 'metafile.yaml')).read() == meta, \
        'run python tools/misc/write_model_zoo.py'


def test_zoo_results_are_the_records_means(tmp_path, monkeypatch):
    """Every seed's record is read, the mean and std are those of the
    records, and the table cell is the benchmark tool's (every seed shown)."""
    writer = load_writer()
    for seed, miou in ((0, 50.0), (1, 53.0), (2, 44.5)):
        d = tmp_path / f'benchmarks/camvid/pretrained/u2pl-lb/1-16/seed{seed}'
        d.mkdir(parents=True)
        (d / 'result.json').write_text(json.dumps(dict(seed=seed, final=dict(mIoU=miou))))
    hyp = tmp_path / 'benchmarks/camvid/pretrained-hypotheses/u2pl/1-16/seed0'
    hyp.mkdir(parents=True)  # an experiment, not reported in the zoo
    (hyp / 'result.json').write_text(json.dumps(dict(seed=0, final=dict(mIoU=99.0))))
    monkeypatch.setattr(writer, 'ROOT', str(tmp_path))
    records = writer.camvid_records('u2pl')
    assert list(records) == ['u2pl-lb']
    (model, ) = writer.camvid_models(writer.METHODS['u2pl'], records)
    (result, ) = model['Results']
    assert result['Metrics'] == {'mIoU': round((50.0 + 53.0 + 44.5) / 3, 2),
                                 'mIoU std': round(float(np.std([50.0, 53.0, 44.5], ddof=1)),
                                                   2)}
    assert (result['Split'], result['Protocol'], result['Seeds']) == ('1-16', 'pretrained',
                                                                      [0, 1, 2])
    section = writer.results_section('u2pl', records)
    assert '49.17 ± 4.31 (seeds 0/1/2: 50.00 / 53.00 / 44.50)' in section
    assert '99.0' not in section


def test_dars_round_records_are_results_of_the_dars_config(tmp_path, monkeypatch):
    """DARS's protocol records each round (``dars-round1``, ``dars-round2``) of
    one config (``configs/camvid/dars.py``): one zoo model with a result per
    round, its rows linking the config that exists."""
    writer = load_writer()
    for name, miou in (('dars-round1', 51.0), ('dars-round2', 49.0)):
        d = tmp_path / f'benchmarks/camvid/pretrained/{name}/1-8/seed0'
        d.mkdir(parents=True)
        (d / 'result.json').write_text(json.dumps(dict(seed=0, final=dict(mIoU=miou))))
    monkeypatch.setattr(writer, 'ROOT', str(tmp_path))
    records = writer.camvid_records('dars')
    assert sorted(records) == ['dars-round1', 'dars-round2']
    assert writer.camvid_records('suponly') == {}
    (model, ) = writer.camvid_models(writer.METHODS['dars'], records)
    assert (model['Name'], model['Config']) == ('camvid_dars', 'configs/camvid/dars.py')
    assert osp.isfile(osp.join(ROOT, model['Config']))
    assert [(r['Stage'], r['Metrics']['mIoU']) for r in model['Results']] == [
        ('round 1', 51.0), ('round 2', 49.0)]
    section = writer.results_section('dars', records)
    assert '| [camvid/dars](../camvid/dars.py), round 1 | pretrained | 1-8 | 51.00' in section
    assert '| [camvid/dars](../camvid/dars.py), round 2 | pretrained | 1-8 | 49.00' in section
    assert 'tools/benchmark/dars_protocol.py' in section
    assert 'camvid/dars-round' not in section.replace('pretrained/dars-round', '')
