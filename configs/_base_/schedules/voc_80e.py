# The PASCAL VOC schedule of U2PL and its re-runs (reference Sec. 2): 80 epochs of
# the unlabeled set (the loop counts the iterations: 52450 for classic 92 on
# 4 GPUs x 4), SGD lr 0.001, weight decay 1e-4, poly 0.9, warm start 1 epoch.
_base_ = './semi_poly.py'
optimizer = dict(lr=0.001, weight_decay=0.0001)
optim_wrapper = dict(optimizer=optimizer)
train_cfg = dict(max_epochs=80)
warm_start_epochs = 1  # SemiScheduleHook of the method configs
