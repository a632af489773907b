# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Write configs/{method}/README.md and metafile.yaml (OpenMMLab model-zoo
layout) from the configs and the benchmark records present. Run after adding
or renaming configs, or committing records under benchmarks/camvid/:

    python tools/misc/write_model_zoo.py

The results tables and the metafiles' ``Results`` are read from the records
(``benchmarks/camvid/{protocol}/{config}/{split}/seed{n}/result.json``, written
by tools/benchmark/semi_protocol.py); nothing is typed in by hand.
tests/test_model_zoo.py checks that the committed files are what this writes.
"""
import functools
import glob
import importlib.util
import json
import os.path as osp
import re
import statistics
from typing import Optional

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROTOCOL_TOOL = osp.join(ROOT, 'tools/benchmark/semi_protocol.py')

METHODS = {
    'u2pl': dict(
        name='U2PL', title='Semi-Supervised Semantic Segmentation Using Unreliable Pseudo-Labels',
        venue='CVPR 2022', url='https://arxiv.org/abs/2203.03884',
        code='mmseg_u2pl/models/segmentors/u2pl_semi_segmentor.py',
        what='CutMix-Seg plus the entropy partition of the pseudo-labels (Eq. 5-7), the adaptive '
             'weight of L_u (Eq. 8) and the contrastive loss L_c with the category-wise memory '
             'bank (Eq. 4, 9-16); the authors\' code departures as options (main README).'),
    'suponly': dict(
        name='SupOnly', title='Supervised baseline (same network, schedule and labeled batch)',
        venue='-', url=None, code='plain MMSeg EncoderDecoder',
        what='The segmentor trained on the labeled split only, as many iterations as its '
             'semi-supervised twins (CPS supplementary, footnote 1).'),
    'mean_teacher': dict(
        name='Mean Teacher', venue='NeurIPS 2017', url='https://arxiv.org/abs/1703.01780',
        title='Mean teachers are better role models: Weight-averaged consistency targets '
              'improve semi-supervised deep learning results',
        code='mmseg_u2pl/models/segmentors/mean_teacher.py',
        what='EMA teacher (0.99); consistency as hard-label CE (the U2PL re-runs) or softmax MSE.'),
    'cutmix_seg': dict(
        name='CutMix-Seg', venue='BMVC 2020', url='https://arxiv.org/abs/1906.01916',
        title='Semi-supervised semantic segmentation needs strong, varied perturbations',
        code='mmseg_u2pl/models/segmentors/cutmix_seg.py',
        what='Mean Teacher on CutMix-ed unlabeled images (one box of half the image).'),
    'cps': dict(
        name='CPS', venue='CVPR 2021', url='https://arxiv.org/abs/2106.01226',
        title='Semi-Supervised Semantic Segmentation with Cross Pseudo Supervision',
        code='mmseg_u2pl/models/segmentors/cps.py',
        what='Two trained networks with cross hard pseudo-labels; with CutMix (3 boxes of total '
             'area U(0.25, 0.5)) on mixed unlabeled images; network 1 evaluated.'),
    'ael': dict(
        name='AEL', venue='NeurIPS 2021', url='https://arxiv.org/abs/2110.05474',
        title='Semi-Supervised Semantic Segmentation via Adaptive Equalization Learning',
        code='mmseg_u2pl/models/segmentors/ael.py',
        what='Confidence bank, adaptive CutMix, adaptive copy-paste, adaptive equalization '
             'sampling and dynamic re-weighting on a mean teacher.'),
    'u2pl_ael': dict(
        name='U2PL w/ AEL', venue='CVPR 2022', url='https://arxiv.org/abs/2203.03884',
        title='Semi-Supervised Semantic Segmentation Using Unreliable Pseudo-Labels (w/ AEL)',
        code='mmseg_u2pl/models/segmentors/u2pl_ael.py',
        what="AEL's step plus U2PL's L_c on the entropy partition (U2PL Tab. 3)."),
    'esl': dict(
        name='ESL', venue='ICCV 2023', url=None,
        title='Enhanced Soft Label for Semi-Supervised Semantic Segmentation',
        code='mmseg_u2pl/models/segmentors/esl.py',
        what='Dynamic soft labels with a soft CE, and a pixel-to-part contrastive loss with K = 5 '
             'part prototypes per class.'),
    'dars': dict(
        name='DARS', venue='ICCV 2021', url=None,
        title='Re-distributing Biased Pseudo Labels for Semi-supervised Semantic Segmentation: '
              'A Baseline Investigation',
        code='tools/dars_pseudo_label.py, tools/dars_rounds.py',
        what='Offline self-training rounds with distribution-aligned random sampling of the '
             'pseudo-labels (alpha 0.2, then 0.5 with a wider scale range).',
        # one command runs round 0 (SupOnly) and the rounds of each seed
        camvid_command='python tools/benchmark/dars_protocol.py --protocol PROTOCOL --splits '
                       'SPLIT\n--seeds 0 1 2 --round0-work-dir work_dirs/dars_round0',
        camvid_note=' (round 0 is SupOnly, trained again;\nits mIoU is in each round\'s record)'),
}
BACKBONES = {'r101': 'ResNet-101 V1c', 'r18-tiny': 'ResNet-18 V1c (narrow)',
             'efficientnet-lite0': 'EfficientNet-Lite0'}
# CamVid benchmark configs (configs/camvid/{name}.py) -> method folder
CAMVID_METHOD = {'suponly': 'suponly', 'u2pl': 'u2pl', 'u2pl-lb': 'u2pl',
                 'u2pl_authors-code': 'u2pl', 'mean-teacher': 'mean_teacher',
                 'cutmix-seg': 'cutmix_seg', 'cps': 'cps', 'ael': 'ael', 'u2pl-ael': 'u2pl_ael',
                 'esl': 'esl', 'dars': 'dars'}
# records named otherwise than their config: DARS runs one config in rounds and
# `tools/benchmark/dars_protocol.py` records each round (record -> config, label)
CAMVID_RECORD_CONFIG = {'dars-round1': ('dars', 'round 1'), 'dars-round2': ('dars', 'round 2')}
# protocols whose records the zoo reports (the hypothesis runs are experiments,
# reported in the main README only)
CAMVID_PROTOCOLS = {
    'pretrained': 'DeepLabV3+ on ImageNet EfficientNet-Lite0, 240 x 180, 1500 iterations',
    'cpu': 'DeepLabV3+ on ResNet-18 w32 from scratch, 240 x 180, 1500 iterations (previous)'}
SPLIT_ORDER = {'1-16': 0, '1-8': 1, '1-4': 2, '1-2': 3}
DATASETS = {'cityscapes': 'Cityscapes', 'voc-classic': 'Pascal VOC 2012 (classic)',
            'voc-blender': 'Pascal VOC 2012 (blender)', 'synthetic': 'synthetic shapes (tests)'}


def describe(path):
    name = osp.splitext(osp.basename(path))[0]
    first = open(path).readline().lstrip('# ').strip()
    m = re.match(r'[^_]+_([^_]+)_(.+?)(?:_([^_]+))?$', name)
    backbone, rest = BACKBONES.get(m.group(1), m.group(1)), name.split('_', 2)[2]
    dataset = next((v for k, v in DATASETS.items() if rest.startswith(k)), rest)
    split = rest.rsplit('_', 1)[-1]
    return name, backbone, dataset, split, first


def camvid_config(name: str) -> str:
    """The CamVid config (``configs/camvid/{config}.py``) of a record folder."""
    return CAMVID_RECORD_CONFIG.get(name, (name, None))[0]


def camvid_stage(name: str) -> Optional[str]:
    """What a record folder measured of its config (a DARS round), if not the run."""
    return CAMVID_RECORD_CONFIG.get(name, (name, None))[1]


def camvid_method(name: str) -> str:
    config = camvid_config(name)
    return 'u2pl' if config.startswith('u2pl_tab6') else CAMVID_METHOD.get(config, config)


@functools.lru_cache(maxsize=None)
def protocol_tool():
    """``tools/benchmark/semi_protocol.py`` as a module, loaded once."""
    spec = importlib.util.spec_from_file_location('semi_protocol', PROTOCOL_TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def mean_std(values, seeds) -> str:
    """The benchmark tool's cell format (``tools/benchmark/semi_protocol.py``)."""
    return protocol_tool().mean_std(values, seeds)


def camvid_records(folder: str):
    """``{config: [(protocol, split, [records sorted by seed])]}`` of a method."""
    found = {}
    for f in glob.glob(osp.join(ROOT, 'benchmarks/camvid/*/*/*/seed*/result.json')):
        protocol, name, split = f.split(osp.sep)[-5:-2]
        if protocol not in CAMVID_PROTOCOLS or camvid_method(name) != folder:
            continue
        with open(f) as fh:
            record = json.load(fh)
        record['path'] = osp.relpath(osp.dirname(osp.dirname(f)), ROOT)
        found.setdefault(name, {}).setdefault((protocol, split), []).append(record)
    order = list(CAMVID_PROTOCOLS)
    return {name: sorted(((p, s, sorted(r, key=lambda x: x['seed']))
                          for (p, s), r in groups.items()),
                         key=lambda g: (order.index(g[0]), SPLIT_ORDER.get(g[1], 9), g[1]))
            for name, groups in sorted(found.items())}


def results_section(folder: str, records) -> str:
    text = """## Results

Not measured on Cityscapes or VOC by this package (no GPU run yet).
"""
    if not records:
        return text + """Not measured on CamVid yet; the CamVid protocols and the commands are in
the main README ("CamVid benchmark").
"""
    rows = []
    for name, groups in records.items():
        for protocol, split, runs in groups:
            cell = mean_std([r['final']['mIoU'] for r in runs], [r['seed'] for r in runs])
            logs = ' '.join(f'[seed {r["seed"]}](../../{r["path"]}/seed{r["seed"]}/log.json)'
                            for r in runs
                            if osp.isfile(osp.join(ROOT, r['path'], f'seed{r["seed"]}',
                                                   'log.json')))
            config = camvid_config(name)
            stage = f', {camvid_stage(name)}' if camvid_stage(name) else ''
            rows.append(f'| [camvid/{config}](../camvid/{config}.py){stage} | '
                        f'{protocol} | {split} | '
                        f'{cell} | [records](../../{runs[0]["path"]}) | {logs or "-"} |')
    protocols = '\n'.join(f'- `{p}`: {what}' for p, what in CAMVID_PROTOCOLS.items())
    command = METHODS[folder].get(
        'camvid_command', 'python tools/benchmark/semi_protocol.py --protocol PROTOCOL --configs '
                          'CONFIG --splits SPLIT\n--seeds 0 1 2')
    return text + f"""
CamVid (367 train / 101 val frames, 11 classes), measured on this project's 2-core CPU machine
with `{command}`{METHODS[folder].get('camvid_note', '')}; val mIoU at the last iteration, every seed shown. The comparison with the other
methods, per-class IoU and curves are in the main README ("CamVid benchmark"). Records: each
seed's `result.json` (curve, per-class IoU, command); logs: MMEngine's scalar log of the run
(`log.json`: losses, learning rate and val metrics per logged iteration; not kept for the `cpu`
runs).
{protocols}

| config | protocol | split | val mIoU, last iteration: mean ± std (every seed) | records | logs |
|---|---|---|---|---|---|
""" + '\n'.join(rows) + '\n'


def camvid_models(info, records):
    """Metafile entries of the CamVid configs of a method, with their results."""
    results_of = {}  # config -> results (a DARS config has one per round)
    for name, groups in records.items():
        results = results_of.setdefault(camvid_config(name), [])
        for protocol, split, runs in groups:
            values = [r['final']['mIoU'] for r in runs]
            metrics = {'mIoU': round(statistics.mean(values), 2)}
            if len(values) > 1:
                metrics['mIoU std'] = round(statistics.stdev(values), 2)
            result = {'Task': 'Semantic Segmentation', 'Dataset': 'CamVid',
                      'Split': split, 'Protocol': protocol,
                      'Seeds': [r['seed'] for r in runs], 'Metrics': metrics}
            if camvid_stage(name):
                result['Stage'] = camvid_stage(name)
            results.append(result)
    models = []
    for name, results in results_of.items():
        models.append({'Name': f'camvid_{name}', 'In Collection': info['name'],
                       'Config': f'configs/camvid/{name}.py',
                       'Metadata': {'Training Data': 'CamVid',
                                    'Backbone': 'EfficientNet-Lite0 (pretrained protocol) / '
                                                'ResNet-18 V1c w32 (cpu protocol)',
                                    'Architecture': ['DeepLabV3+']},
                       'Results': results})
    return models


def render(folder: str):
    """README text and metafile (YAML text) of one method folder."""
    info = METHODS[folder]
    paths = sorted(glob.glob(osp.join(ROOT, 'configs', folder, '*.py')))
    rows, models = [], []
    for p in paths:
        name, backbone, dataset, split, first = describe(p)
        rel = osp.relpath(p, ROOT)
        rows.append(f'| [{name}]({osp.basename(p)}) | {dataset} | {split} | {first} |')
        models.append({'Name': name, 'In Collection': info['name'], 'Config': rel,
                       'Metadata': {'Training Data': dataset, 'Backbone': backbone,
                                    'Architecture': ['DeepLabV3+', backbone]}})
    paper = f"[{info['title']}]({info['url']})" if info['url'] else info['title']
    records = camvid_records(folder)
    models += camvid_models(info, records)
    readme = f"""# {info['name']}

> {paper} ({info['venue']})

Implemented in `{info['code']}`. {info['what']}

All configs share one protocol per dataset with every other method of the package (network,
data, batch and schedule of U2PL's paper settings); the method's own values and the choices
where its sources are silent are listed in `configs/_base_/methods/` and in the main README
("How it is implemented": methods table and deviations).

## Configs

| config | dataset | split | what |
|---|---|---|---|
""" + '\n'.join(rows) + '\n\n' + results_section(folder, records)
    meta = {'Collections': [{
        'Name': info['name'], 'License': 'Apache License 2.0',
        'Metadata': {'Training Data': sorted({describe(p)[2] for p in paths})},
        'Paper': {'Title': info['title'], 'URL': info['url'] or ''},
        'README': f'configs/{folder}/README.md', 'Frameworks': ['PyTorch']}],
        'Models': models}
    return readme, yaml.safe_dump(meta, sort_keys=False, width=100)


def main():
    for folder in METHODS:
        readme, meta = render(folder)
        with open(osp.join(ROOT, 'configs', folder, 'README.md'), 'w') as f:
            f.write(readme)
        with open(osp.join(ROOT, 'configs', folder, 'metafile.yaml'), 'w') as f:
            f.write(meta)
    print(f'wrote README.md and metafile.yaml for {len(METHODS)} methods')


if __name__ == '__main__':
    main()
