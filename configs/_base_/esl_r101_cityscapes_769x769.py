# ESL on Cityscapes (configs/_base_/methods/esl.py): the network, data, batch,
# schedule, warm start and EMA teacher of the protocol every method shares
# here (U2PL's); ESL's own values for its losses; teacher evaluated.
_base_ = ['./semi_r101_cityscapes_769x769.py', './methods/esl.py']
model = dict(
    _delete_=True,
    type='ESLSegmentor',
    segmentor={{_base_.model}},
    projector={{_base_.esl_projector}},
    prototypes={{_base_.esl_prototypes}},
    memory_bank={{_base_.esl_memory_bank}},
    semi_train_cfg={{_base_.esl_semi_train_cfg}},
    semi_test_cfg={{_base_.esl_semi_test_cfg}})
