# The Cityscapes schedule of U2PL and its re-runs (reference Sec. 2): 200 epochs
# of the unlabeled set (the loop counts the iterations: 34863 for 1/16 on 8 GPUs
# x 2), SGD lr 0.01, weight decay 5e-4, poly 0.9, warm start 20 epochs.
_base_ = './semi_poly.py'
optimizer = dict(lr=0.01, weight_decay=0.0005)
optim_wrapper = dict(optimizer=optimizer)
train_cfg = dict(max_epochs=200)
warm_start_epochs = 20  # SemiScheduleHook of the method configs
