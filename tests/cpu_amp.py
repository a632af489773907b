# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""Test-only: lets MMEngine's AmpOptimWrapper run on a CPU-only machine
(custom_imports of a test config), so that the package's mixed-precision
path (bf16 autocast, the optimizer wrapper's checkpoint state) is exercised
without a GPU. MMEngine refuses AmpOptimWrapper without an accelerator; on
CPU torch's GradScaler disables itself (bf16 needs no loss scaling)."""
import mmengine.optim.optimizer.amp_optimizer_wrapper as amp

amp.is_cuda_available = lambda: True
