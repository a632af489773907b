# Tab. 6 row 1 (baseline): no L_c: CutMix + entropy-filtered pseudo-labels only.
_base_ = './u2pl.py'
model = dict(contrastive_head=None, memory_bank=None)
