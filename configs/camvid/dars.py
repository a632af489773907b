# DARS rounds (configs/_base_/methods/dars.py) in the CamVid protocol: the
# protocol's plain segmentor on labeled + pseudo-labeled images, 4 + 4 per
# iteration, the protocol's schedule per round (tools/dars_rounds.py; round 0
# is configs/camvid/suponly.py).
_base_ = ['../_base_/camvid_{{$CAMVID_PROTOCOL:pretrained}}.py', '../_base_/methods/dars.py']
train_dataloader = dict(dataset=dict(unlabeled=dict(
    pipeline={{_base_.train_pipeline}},
    data_prefix=dict(seg_map_path='work_dirs/dars/pseudo_labels_not_written'))))
