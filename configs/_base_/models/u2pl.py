# U2PL method defaults. Every hyper-parameter of Tab. A1 (supplementary) is a
# value here, with the paper's default; where the authors' code differs
# (reference Sec. 3) the paper is the default and the difference is an option.
# Dataset configs wrap their segmentor with:
#   model = dict(_delete_=True, type='U2PLSemiSegmentor', segmentor={{_base_.model}},
#                contrastive_head={{_base_.u2pl_contrastive_head}}, ...)
u2pl_contrastive_head = dict(
    type='U2PLContrastiveHead',
    # 'authors_code': every option marked (A) defaults to what the authors' public
    # code does (README "Paper vs the authors' code"); a value given here wins
    reference='paper',
    channels=256,              # representation dim of g
    num_anchors=None,          # (A) M: 50 (paper) / 256 (authors' code)
    num_negatives=None,        # (A) N: 256 (paper) / 50 (authors' code)
    temperature=0.5,           # tau
    positive_threshold=0.3,    # delta_p
    low_rank=3,                # r_l
    high_rank=20,              # r_h
    loss_type='infonce',       # 'binary' for L_b (supplementary Sec. D)
    loss_weight=0.1,           # lambda_c (the authors' code: 1.0 / world size in effect)
    use_rank_threshold=True,   # PRT (Tab. 6)
    negatives_from='unreliable',  # high-entropy negatives (Tab. 6, Tab. A2)
    sample_with_replacement=None,  # (A) anchors: False (paper) / True (authors' code)
    batch_axis_onehot=None,        # (A) False / True: the authors' label_onehot (batch axis)
    labeled_negatives=None,        # (A) True (Eq. 14) / False: always empty in their code
    negatives_need_pseudo_label=None,  # (A) False (Eq. 15) / True: and pseudo-label = c
    positive_with_threshold=None,  # (A) True (Eq. 12) / False: z_c^+ without delta_p
    average_over_present_classes=None,  # (A) False (mean over classes with anchors) / True
    max_push_per_class=None,   # None: push every negative (FIFO keeps the newest)
    norm_cfg=dict(type='SyncBN', requires_grad=True))
u2pl_memory_bank = dict(       # Q_c; model.memory_bank=None: in-batch negatives (Tab. 6 w/o Q_c)
    type='ClassQueueMemoryBank',
    length=30000,
    background_index=0,
    background_length=50000,
    persistent=True)           # saved in checkpoints: exact resume
u2pl_semi_train_cfg = dict(
    unsup_weight=1.0,  # eta (Eq. 8)
    alpha_0=0.2,       # initial unreliable ratio (Eq. 7)
    dynamic_partition=True,  # Dynamic Partition Adjustment (Eq. 7); False: alpha_t = alpha_0
    mixer=dict(type='CutMix', prob=1.0, area=0.5))  # one box of half the image
u2pl_semi_test_cfg = dict(predict_on='teacher')
# Hooks: the protocol base sets them (configs/_base_/semi_r101_*.py; the warm start
# is the dataset's):
#   custom_hooks = [dict(type='SemiScheduleHook', warm_start_epochs=...),
#                   dict(type='MeanTeacherHook', decay=0.99, interval=1, warmup=True,
#                        bn_buffers='ema')]
