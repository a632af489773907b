# AEL on PASCAL VOC 2012 (configs/_base_/methods/ael.py) with the VOC values (confidence threshold 0.7,
# components of >= 3 % of the crop): the network,
# data, batch, schedule, warm start and EMA teacher of the protocol every
# method shares here (U2PL's, as U2PL re-ran AEL for its Tab. 3); teacher
# evaluated.
_base_ = ['./semi_r101_voc_513x513.py', './methods/ael.py']
model = dict(
    _delete_=True,
    type='AELSegmentor',
    segmentor={{_base_.model}},
    semi_train_cfg={{_base_.ael_voc_semi_train_cfg}},
    semi_test_cfg={{_base_.ael_semi_test_cfg}})
