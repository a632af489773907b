# ESL (configs/_base_/methods/esl.py) with its published loss weights: the same
# network, teacher, CutMix, schedule and hooks as U2PL in this protocol.
_base_ = ['./u2pl.py', '../_base_/methods/esl.py']
model = dict(
    _delete_=True,
    type='ESLSegmentor',
    segmentor={{_base_.model.segmentor}},
    projector={{_base_.esl_projector}},
    prototypes={{_base_.esl_prototypes}},
    memory_bank={{_base_.esl_memory_bank}},
    semi_train_cfg={{_base_.esl_semi_train_cfg}},
    semi_test_cfg={{_base_.esl_semi_test_cfg}})
