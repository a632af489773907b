# AEL (Hu et al., NeurIPS 2021) method defaults, Cityscapes values
# (../shared/docs/methods-reference.md, AEL section). Chosen where the sources
# are silent: the confidence bank starts at 0 (no class favoured before it is
# measured), 8-connected components, copy-paste offsets uniform over the
# image, area_threshold 0.01 on VOC as well.
ael_semi_train_cfg = dict(
    unsup_weight=1.0,
    # adaptive CutMix: class ~ softmax(1 - Conf); a component of it covering
    # >= 0.5 % of the crop (VOC: 3 %) from an image where it covers >= 1 %;
    # else a random box of half the image
    mixer=dict(type='AdaptiveCutMix', prob=1.0, area_threshold=0.01,
               min_component_area=0.005, fallback_area=0.5),
    # adaptive copy-paste: up to 3 classes ~ softmax(sqrt(1 - Conf)), scale
    # jitter [0.1, 2.0], probability 0.5
    copy_paste=dict(type='AdaptiveCopyPaste', prob=0.5, max_classes=3,
                    scale_range=(0.1, 2.0)),
    confidence_momentum=0.999,  # EMA of the confidence bank
    confidence_threshold=None,  # VOC: 0.7
    equalization_beta=1.0,      # keep probability ((1 - Conf_c) / max(1 - Conf))^beta
    reweight_gamma=2.0)         # L_u weight (teacher max probability)^gamma
# VOC: confidence_threshold=0.7, mixer.min_component_area=0.03
ael_voc_semi_train_cfg = dict(
    ael_semi_train_cfg,
    mixer=dict(type='AdaptiveCutMix', prob=1.0, area_threshold=0.01,
               min_component_area=0.03, fallback_area=0.5),
    confidence_threshold=0.7)
ael_semi_test_cfg = dict(predict_on='teacher')
# Hooks: the protocol base's (SemiScheduleHook, MeanTeacherHook with decay 0.99)
# U2PL w/ AEL: AEL's knobs plus U2PL's entropy partition for L_c (Eq. 5-7)
u2pl_ael_semi_train_cfg = dict(ael_semi_train_cfg, alpha_0=0.2, dynamic_partition=True)
u2pl_ael_voc_semi_train_cfg = dict(ael_voc_semi_train_cfg, alpha_0=0.2,
                                   dynamic_partition=True)
