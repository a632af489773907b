# DARS on PASCAL VOC 2012: the plain segmentor of the shared protocol trained on the
# labeled images and the pseudo-labeled unlabeled images, as many of each per
# batch (SemiSupervisedSampler), with the protocol's crop, schedule and
# evaluation. tools/dars_rounds.py writes the pseudo-labels and sets their
# folder (unlabeled.data_prefix.seg_map_path) and load_from per round.
_base_ = ['./semi_r101_voc_513x513.py', './methods/dars.py']
custom_hooks = []  # no teacher, no semi-supervised schedule: a plain segmentor
train_dataloader = dict(dataset=dict(unlabeled=dict(
    pipeline={{_base_.train_pipeline}},
    data_prefix=dict(seg_map_path='work_dirs/dars/pseudo_labels_not_written'))))
