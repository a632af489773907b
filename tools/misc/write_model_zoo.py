# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Write configs/{method}/README.md and metafile.yaml (OpenMMLab model-zoo
layout) from the configs present. Run after adding or renaming configs:

    python tools/misc/write_model_zoo.py

tests/test_model_zoo.py checks that the files list exactly the configs.
"""
import glob
import os.path as osp
import re

import yaml

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

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
             'pseudo-labels (alpha 0.2, then 0.5 with a wider scale range).'),
}
BACKBONES = {'r101': 'ResNet-101 V1c', 'r18-tiny': 'ResNet-18 V1c (narrow)',
             'efficientnet-lite0': 'EfficientNet-Lite0'}
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


def main():
    for folder, info in METHODS.items():
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
""" + '\n'.join(rows) + """

## Results

Not measured on Cityscapes or VOC by this package (no GPU run yet). The CamVid measurements of
the methods, with the commands that made them, are in the main README ("CamVid benchmark").
"""
        with open(osp.join(ROOT, 'configs', folder, 'README.md'), 'w') as f:
            f.write(readme)
        meta = {'Collections': [{
            'Name': info['name'], 'License': 'Apache License 2.0',
            'Metadata': {'Training Data': sorted({describe(p)[2] for p in paths})},
            'Paper': {'Title': info['title'], 'URL': info['url'] or ''},
            'README': f'configs/{folder}/README.md', 'Frameworks': ['PyTorch']}],
            'Models': models}
        with open(osp.join(ROOT, 'configs', folder, 'metafile.yaml'), 'w') as f:
            yaml.safe_dump(meta, f, sort_keys=False, width=100)
    print(f'wrote README.md and metafile.yaml for {len(METHODS)} methods')


if __name__ == '__main__':
    main()
