# Copyright (c) mmseg_u2pl contributors. All rights reserved.
import os
import os.path as osp
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import mmseg_u2pl  # noqa: E402  (registers components)

# the tests torch.load MMEngine checkpoints themselves (runs get SafeCheckpointHook)
mmseg_u2pl.register_checkpoint_safe_globals()


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: end-to-end runs (kept in CI)')


@pytest.fixture
def repo_root():
    return ROOT
from mmengine.registry import init_default_scope  # noqa: E402

init_default_scope('mmseg')


@pytest.fixture(autouse=True, scope='session')
def metafiles_parsed_once():
    """MMEngine resolves each ``mmseg::_base_/...`` of a config by first
    parsing all of MMSeg's ~630 metafiles (about 0.35 s, three times per config
    of this package) before it falls back to the base path. The tests load
    hundreds of configs in-process: parse each metafile once per session (the
    parsed metafiles are only read)."""
    from mmengine.config import utils
    original = utils.load
    parsed = {}

    def load(file, *args, **kwargs):
        if args or kwargs or not isinstance(file, str) or \
                not file.endswith(('.yml', '.yaml')):
            return original(file, *args, **kwargs)
        key = (file, os.stat(file).st_mtime_ns)
        if key not in parsed:
            parsed[key] = original(file)
        return parsed[key]

    utils.load = load
    yield
    utils.load = original


@pytest.fixture(autouse=True)
def default_semi_schedule():
    """Every test starts and ends with the default schedule in the message hub
    (no warm start, alpha_t = alpha_0)."""
    from mmseg_u2pl.utils import SemiSchedule, publish_semi_schedule
    publish_semi_schedule(SemiSchedule())
    yield
    publish_semi_schedule(SemiSchedule())
