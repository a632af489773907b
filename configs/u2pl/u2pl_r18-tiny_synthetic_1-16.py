# U2PL, synthetic data, 1/16 labeled (the main job of README.md).
_base_ = '../_base_/u2pl_r18-tiny_synthetic.py'
