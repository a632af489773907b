# Tab. 6 row 5: U2PL without high-entropy filtering of the negatives
# (negatives from every pixel, not only the unreliable ones).
_base_ = './u2pl.py'
model = dict(contrastive_head=dict(negatives_from='all'))
