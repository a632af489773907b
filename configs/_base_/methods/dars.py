# DARS (He et al., ICCV 2021) rounds (supplementary Tab. S1, S2): round 1
# pseudo-labels alpha = 20 % of the unlabeled pixels with the protocol's
# random scaling; round 2 alpha = 50 % with the scale range widened by
# beta_min = 0.2 below and beta_max = 0.5 above (the protocols here scale in
# [0.5, 2.0]: round 2 in [0.3, 2.5]). tools/dars_rounds.py runs them, each
# round from the previous round's weights with the protocol's full schedule
# (chosen: the sources do not say how a round's schedule continues).
dars = dict(rounds=[
    dict(alpha=0.2, ratio_range=None),        # None: the config's own range
    dict(alpha=0.5, ratio_range=(0.3, 2.5)),
])
