# ESL (Ma et al., ICCV 2023) method defaults (../shared/docs/methods-reference.md,
# ESL section; supplementary Tab. 3 for the loss weights). Chosen where the
# sources are silent: queue length 256 per (class, part), at most 50 anchors
# per class (bounds the negatives' memory, as U2PL's M), projector kernels
# 3 x 3, 1 x 1, 1 x 1, prototypes in the projector space initialised lazily
# (README, methods table).
esl_projector = dict(channels=512, norm_cfg=dict(type='SyncBN', requires_grad=True))
esl_prototypes = dict(num_parts=5, momentum=0.99)   # K part prototypes per class, EMA
esl_memory_bank = dict(type='ClassQueueMemoryBank', length=256, background_index=None)
esl_semi_train_cfg = dict(
    unsup_weight=0.2,            # lambda_1 (L_SCE)
    soft_label_threshold=0.95,   # eta of the dynamic soft labels
    contrast_weight=0.1,         # lambda_2 (L_CTR)
    anchor_ratio=0.1,            # share of each class's pixels used as anchors
    anchor_threshold=0.95,       # unlabeled pixels above it are anchors / prototypes / queues
    max_anchors_per_class=50,
    num_negatives=255,
    temperature=0.5,
    mixer=dict(type='CutMix', prob=1.0, area=0.5))
esl_semi_test_cfg = dict(predict_on='teacher')
# Hooks: the protocol base's (SemiScheduleHook, MeanTeacherHook with decay 0.99)
