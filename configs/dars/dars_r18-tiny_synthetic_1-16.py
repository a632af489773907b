# DARS rounds on the embedded synthetic dataset, 1/16 labeled (the tests'
# config; round 0: configs/suponly/suponly_r18-tiny_synthetic_1-16.py).
_base_ = [
    '../_base_/models/deeplabv3plus_r18-tiny_synthetic.py', '../_base_/methods/dars.py',
    '../_base_/datasets/synthetic_semi.py', '../_base_/synthetic_runtime.py'
]
custom_hooks = []
train_dataloader = dict(dataset=dict(unlabeled=dict(
    pipeline={{_base_.train_pipeline}},
    data_prefix=dict(seg_map_path='work_dirs/dars/pseudo_labels_not_written'))))
