# Copyright (c) mmseg_u2pl contributors. All rights reserved.
"""AEL and U2PL w/ AEL: every rule against a slow, independent reference."""
import math
from collections import deque

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
from mmseg_u2pl.models.losses import weighted_pseudo_label_ce
from mmseg_u2pl.models.segmentors import SemiStep
from mmseg_u2pl.models.utils import (AdaptiveCopyPaste, AdaptiveCutMix, ClassConfidenceBank,
                                     class_sampling_probs, component_boxes,
                                     equalization_keep_probs, paste_objects)
from _tiny import NUM_CLASSES, make_batch, tiny_segmentor_cfg, tiny_u2pl_cfg


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def ael_cfg(**train_cfg):
    return dict(type='AELSegmentor', segmentor=tiny_segmentor_cfg(), semi_train_cfg=train_cfg)


# ------------------------------------------------------------ confidence bank
def test_confidence_bank_update_against_a_loop():
    torch.manual_seed(0)
    C, m = 5, 0.9
    bank = ClassConfidenceBank(C, momentum=m, init_value=0.3)
    expected = [0.3] * C
    for _ in range(3):
        probs = torch.rand(2, C, 6, 7).softmax(1)
        labels = torch.randint(0, C - 1, (2, 6, 7))  # class C-1 never labeled
        labels[0, :2] = 255
        bank.update(probs, labels)
        for c in range(C):
            vals = [float(probs[b, c, y, x]) for b in range(2) for y in range(6)
                    for x in range(7) if int(labels[b, y, x]) == c]
            if vals:
                expected[c] = m * expected[c] + (1 - m) * sum(vals) / len(vals)
    assert bank.confidence.tolist() == pytest.approx(expected, abs=1e-6)
    assert bank.confidence[C - 1] == pytest.approx(0.3)
    assert 'confidence' in bank.state_dict()  # saved in checkpoints
    with pytest.raises(ValueError, match='momentum'):
        ClassConfidenceBank(3, momentum=1.0)


def test_sampling_and_keep_probabilities_against_the_formulas():
    conf = torch.tensor([0.9, 0.5, 0.1, 1.0])
    gap = [1 - c for c in conf.tolist()]
    soft = [math.exp(g) for g in gap]
    assert class_sampling_probs(conf).tolist() == pytest.approx(
        [s / sum(soft) for s in soft], abs=1e-6)
    soft = [math.exp(math.sqrt(g)) for g in gap]
    assert class_sampling_probs(conf, sqrt=True).tolist() == pytest.approx(
        [s / sum(soft) for s in soft], abs=1e-6)
    for beta in (1.0, 2.0):
        assert equalization_keep_probs(conf, beta).tolist() == pytest.approx(
            [(g / max(gap))**beta for g in gap], abs=1e-6)
    assert equalization_keep_probs(torch.ones(3)).tolist() == [1, 1, 1]


def test_reweighted_ce_against_a_loop():
    torch.manual_seed(1)
    logits = torch.randn(2, 4, 5, 5)
    pseudo = torch.randint(0, 4, (2, 5, 5))
    pseudo[1, 0] = 255
    w = torch.rand(2, 5, 5)
    num = den = 0.0
    for b in range(2):
        for y in range(5):
            for x in range(5):
                t = int(pseudo[b, y, x])
                if t == 255:
                    continue
                ce = -float(torch.log_softmax(logits[b, :, y, x].double(), 0)[t])
                num += float(w[b, y, x]) * ce
                den += float(w[b, y, x])
    assert float(weighted_pseudo_label_ce(logits, pseudo, w)) == pytest.approx(num / den,
                                                                               rel=1e-5)
    assert float(weighted_pseudo_label_ce(logits, torch.full_like(pseudo, 255), w)) == 0


# ------------------------------------------------------------ adaptive CutMix
def slow_components(mask):
    """8-connected components by breadth-first flood fill: (area, box)."""
    H, W = mask.shape
    seen = np.zeros((H, W), bool)
    out = []
    for y in range(H):
        for x in range(W):
            if not mask[y, x] or seen[y, x]:
                continue
            q, pix = deque([(y, x)]), []
            seen[y, x] = True
            while q:
                cy, cx = q.popleft()
                pix.append((cy, cx))
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        ny, nx = cy + dy, cx + dx
                        if 0 <= ny < H and 0 <= nx < W and mask[ny, nx] and not seen[ny, nx]:
                            seen[ny, nx] = True
                            q.append((ny, nx))
            ys, xs = zip(*pix)
            out.append((len(pix), (min(ys), max(ys) + 1, min(xs), max(xs) + 1)))
    return out


def test_component_boxes_against_a_flood_fill():
    rng = np.random.default_rng(0)
    for trial in range(5):
        mask = rng.random((13, 17)) < 0.3
        comps = slow_components(mask)
        for min_area in (1, 3):
            expected = sorted(box for area, box in comps if area >= min_area)
            assert sorted(component_boxes(torch.from_numpy(mask), min_area)) == expected


def test_adaptive_cutmix_cuts_a_component_of_the_drawn_class_from_another_image():
    torch.manual_seed(0)
    B, H, W = 3, 16, 16
    labels = torch.zeros(B, H, W, dtype=torch.long)
    labels[1, 2:6, 3:9] = 2          # class 2 only in image 1, one blob of 24 pixels
    labels[1, 10:11, 0:1] = 2        # and a 1-pixel speck (too small)
    mixer = AdaptiveCutMix(area_threshold=0.01, min_component_area=0.05)
    probs = torch.tensor([0.0, 0.0, 1.0])  # always class 2
    masks, source, cut = mixer.adaptive_masks(labels, probs)
    for i in (0, 2):                 # the blob of image 1, at its place
        assert int(source[i]) == 1 and int(cut[i]) == 2
        expected = torch.zeros(H, W, dtype=torch.bool)
        expected[2:6, 3:9] = True
        assert torch.equal(masks[i], expected)
    # image 1 cannot take its own class-2 blob: random box of half the image
    assert int(cut[1]) == -1 and int(source[1]) == 2
    assert int(masks[1].sum()) == pytest.approx(H * W * 0.5, abs=H)
    x = torch.arange(B * H * W, dtype=torch.float).view(B, 1, H, W)
    (mixed, ) = mixer.mix(masks, [x], source)
    assert torch.equal(mixed[0][:, masks[0]], x[1][:, masks[0]])
    assert torch.equal(mixed[0][:, ~masks[0]], x[0][:, ~masks[0]])


def test_adaptive_cutmix_draws_classes_by_the_given_distribution():
    torch.manual_seed(0)
    B, H, W = 4, 8, 8
    labels = torch.arange(4).view(4, 1, 1).expand(B, H, W).clone()  # image k is class k
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4])
    mixer = AdaptiveCutMix(area_threshold=0.01, min_component_area=0.01)
    counts = torch.zeros(4)
    n = 0
    for _ in range(300):
        _, source, cut = mixer.adaptive_masks(labels, probs)
        for i in range(B):
            if int(cut[i]) >= 0:
                assert int(source[i]) == int(cut[i]) != i
                counts[int(cut[i])] += 1
            n += 1
    # P(cut = c) = p_c for images other than c, and the own class falls back
    expected = torch.tensor([p * (B - 1) / B for p in probs.tolist()]) * n
    assert torch.allclose(counts, expected, rtol=0.15)


# ------------------------------------------------------------ adaptive copy-paste
def slow_paste(image, label, src_image, src_label, classes, scale, offset):
    H, W = label.shape
    Hs, Ws = src_label.shape
    h, w = max(1, round(Hs * scale)), max(1, round(Ws * scale))
    img_s = F.interpolate(src_image[None], size=(h, w), mode='bilinear',
                          align_corners=False)[0]
    image, label = image.clone(), label.clone()
    pasted = torch.zeros(H, W, dtype=torch.bool)
    for y in range(H):
        for x in range(W):
            sy, sx = y - offset[0], x - offset[1]
            if not (0 <= sy < h and 0 <= sx < w):
                continue
            # nearest neighbour of the resized label: floor(dst * in / out)
            ly, lx = min(Hs - 1, int(sy * Hs / h)), min(Ws - 1, int(sx * Ws / w))
            v = int(src_label[ly, lx])
            if v in classes:
                label[y, x] = v
                image[:, y, x] = img_s[:, sy, sx]
                pasted[y, x] = True
    return image, label, pasted


@pytest.mark.parametrize('scale,offset', [(1.0, (0, 0)), (0.5, (3, 2)), (1.7, (-4, -6)),
                                          (0.3, (9, 11)), (1.0, (-3, 5))])
def test_paste_objects_against_a_pixel_loop(scale, offset):
    torch.manual_seed(0)
    image, src_image = torch.rand(3, 12, 14), torch.rand(3, 12, 14)
    label = torch.randint(0, 4, (12, 14))
    src_label = torch.randint(0, 5, (12, 14))
    src_label[0] = 255
    classes = torch.tensor([1, 3])
    got = paste_objects(image, label, src_image, src_label, classes, scale, offset)
    exp = slow_paste(image, label, src_image, src_label, {1, 3}, scale, offset)
    for a, b in zip(got, exp):
        assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_copy_paste_takes_up_to_k_present_classes_from_another_image():
    torch.manual_seed(0)
    cp = AdaptiveCopyPaste(prob=1.0, max_classes=2, scale_range=(1.0, 1.0))
    labels = torch.zeros(2, 10, 10, dtype=torch.long)
    labels[1, :5] = 1
    labels[1, 5:, :5] = 2
    labels[1, 5:, 5:] = 3
    images = torch.stack([torch.zeros(3, 10, 10), torch.ones(3, 10, 10)])
    probs = torch.tensor([0.0, 0.5, 0.25, 0.25])  # class 0 never drawn
    for _ in range(20):
        img, lab, pasted = cp(images, labels, probs)
        new = set(lab[0][pasted[0]].unique().tolist())
        assert 1 <= len(new) <= 2 and new <= {1, 2, 3}
        assert torch.equal(img[0][:, pasted[0]], images[1][:, pasted[0]])
        assert torch.equal(lab[0][~pasted[0]], labels[0][~pasted[0]])
    with pytest.raises(ValueError, match='scale_range'):
        AdaptiveCopyPaste(scale_range=(0.0, 2.0))


# ------------------------------------------------------------ the AEL step
def test_equalization_sampling_keeps_each_class_at_its_rate():
    torch.manual_seed(0)
    model = build(ael_cfg(confidence_threshold=0.3))
    model.confidence_bank.confidence.copy_(torch.tensor([0.9, 0.6, 0.2, 0.2]))
    B, H, W = 4, 64, 64
    probs = torch.rand(B, NUM_CLASSES, H, W).softmax(1)
    valid = torch.ones(B, H, W, dtype=torch.bool)
    valid[:, :, -4:] = False
    step = SemiStep(None, [], None, [], valid_u=valid, probs_u=probs, extra={})
    model.pseudo_label(step)
    p_max, arg = probs.max(1)
    s = equalization_keep_probs(model.confidence)
    assert not step.reliable[~valid].any() and not step.reliable[p_max < 0.3].any()
    for c in range(NUM_CLASSES):
        cand = valid & (p_max >= 0.3) & (arg == c)
        rate = float(step.reliable[cand].float().mean())
        assert rate == pytest.approx(float(s[c]), abs=0.05)
    assert torch.equal(step.pseudo[step.reliable], arg[step.reliable])
    assert torch.allclose(step.extra['weights'], p_max.pow(2))


def test_ael_step_trains_and_updates_the_bank():
    torch.manual_seed(0)
    model = build(ael_cfg())
    model.train()
    data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=3), training=True)
    before = model.confidence.clone()
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(losses) >= {'decode.loss_ce', 'loss_unsup', 'kept_ratio'}
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert not torch.equal(model.confidence, before)
    assert all(p.grad is None for p in model.teacher.parameters())


def test_u2pl_ael_is_ael_plus_u2pl_contrastive_loss():
    """U2PL w/ AEL = AEL's losses + U2PL's L_c on the entropy partition
    (random parts that come after the partition off, networks in eval mode:
    U2PL's tie-breaking draws random numbers)."""
    torch.manual_seed(0)
    knobs = dict(copy_paste=None, equalization_beta=None)
    both = build(dict(tiny_u2pl_cfg(), type='U2PLAELSegmentor',
                      semi_train_cfg=dict(alpha_0=0.2, **knobs)))
    ael = build(ael_cfg(**knobs))
    ael.load_state_dict({k: v for k, v in both.state_dict().items()
                         if 'contrastive_head' not in k and 'memory_bank' not in k})
    out = []
    for model in (ael, both):
        model.eval()
        torch.manual_seed(3)
        data = model.data_preprocessor(make_batch(num_labeled=2, num_unlabeled=2),
                                       training=True)
        out.append(model.loss(data['inputs'], data['data_samples']))
    for key in ('decode.loss_ce', 'loss_unsup', 'kept_ratio'):
        assert float(out[0][key]) == pytest.approx(float(out[1][key]), rel=1e-5), key
    assert 'loss_contrast' in out[1] and 'loss_contrast' not in out[0]
    assert float(out[1]['loss_contrast']) > 0


def test_u2pl_ael_contrastive_targets_are_the_entropy_partition():
    from mmseg_u2pl.models.utils import entropy_threshold_pseudo_labels
    torch.manual_seed(0)
    model = build(dict(tiny_u2pl_cfg(), type='U2PLAELSegmentor',
                       semi_train_cfg=dict(alpha_0=0.3, dynamic_partition=False)))
    probs = torch.rand(2, NUM_CLASSES, 8, 8).softmax(1)
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    step = SemiStep(None, [], None, [], valid_u=valid, probs_u=probs, extra={})
    torch.manual_seed(4)
    model.pseudo_label(step)
    torch.manual_seed(4)
    pseudo, _, reliable, _ = entropy_threshold_pseudo_labels(probs, 0.3, valid, 255)
    got_pseudo, got_reliable = model.contrastive_targets(step)
    assert torch.equal(got_pseudo, pseudo) and torch.equal(got_reliable, reliable)
    assert reliable.float().mean() == pytest.approx(0.7, abs=0.02)
    # L_u's pseudo-labels are AEL's: every valid pixel, the argmax
    assert torch.equal(step.pseudo[step.reliable], probs.argmax(1)[step.reliable])


def test_ael_knobs_are_checked_when_built():
    with pytest.raises(ValueError, match=r'confidence_threshold.*1.5'):
        build(ael_cfg(confidence_threshold=1.5))
    with pytest.raises(ValueError, match=r'reweight_gamma.*-1'):
        build(ael_cfg(reweight_gamma=-1))
    with pytest.raises(KeyError, match="'alpha_0'"):
        build(ael_cfg(alpha_0=0.2))
    with pytest.raises(ValueError, match='min_component_area'):
        build(ael_cfg(mixer=dict(type='AdaptiveCutMix', min_component_area=2)))


# ------------------------------------------------- tools/misc/confidence_bank.py
def _confidence_bank_tool():
    import importlib.util
    import os.path as osp
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                    'tools/misc/confidence_bank.py')
    spec = importlib.util.spec_from_file_location('confidence_bank_tool', path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_confidence_bank_tool_against_numpy(tmp_path, capsys):
    import json
    conf = np.array([0.9, 0.5, 0.05, 0.3], dtype=np.float32)
    ckpt = tmp_path / 'iter_8.pth'
    torch.save(dict(meta=dict(iter=8, dataset_meta=dict(classes=('a', 'b', 'c', 'd'))),
                    state_dict={'confidence_bank.confidence': torch.from_numpy(conf),
                                'student.w': torch.zeros(1)}), ckpt)
    out = tmp_path / 'bank.json'
    assert _confidence_bank_tool().main([str(ckpt), '--beta', '2', '--out', str(out)]) == 0
    [bank] = json.loads(out.read_text())
    gap = 1.0 - conf.astype(np.float64)

    def softmax(x):
        e = np.exp(x - x.max())
        return e / e.sum()

    assert bank['classes'] == ['a', 'b', 'c', 'd'] and bank['iter'] == 8
    np.testing.assert_allclose(bank['confidence'], conf, atol=1e-4)
    np.testing.assert_allclose(bank['cutmix_class_probs'], softmax(gap), atol=1e-4)
    np.testing.assert_allclose(bank['copy_paste_class_probs'], softmax(np.sqrt(gap)), atol=1e-4)
    np.testing.assert_allclose(bank['keep_probs'], (gap / gap.max()) ** 2, atol=1e-4)
    assert '| Conf_c | 0.900 | 0.500 | 0.050 | 0.300 |' in capsys.readouterr().out


def test_confidence_bank_tool_names_a_checkpoint_without_a_bank(tmp_path):
    ckpt = tmp_path / 'suponly.pth'
    torch.save(dict(state_dict={'decode_head.conv_seg.weight': torch.zeros(1)}), ckpt)
    with pytest.raises(SystemExit, match=r"suponly\.pth: the state dict has no "
                                         r"'confidence_bank\.confidence'"):
        _confidence_bank_tool().main([str(ckpt)])
