# SupOnly, synthetic data, 1/16 labeled (the main job of README.md).
_base_ = '../_base_/suponly_r18-tiny_synthetic.py'
