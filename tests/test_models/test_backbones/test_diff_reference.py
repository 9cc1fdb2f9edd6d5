"""DIFF's feature extractor against an independent statement of the official algorithm.

The reference below is written from DIFF's algorithm (Ji et al., ICASSP 2025; official
``generalized_steps(run_inversion=True)``, ``get_xt_next`` and
``collect_stride_feats_with_timesteplist`` of ``Yux1angJi/DIFF``, ``diff_config.yaml``), not from
the project's code: it uses none of ``mmseg_diffuda``'s inversion, schedule, tap or CFG helpers,
only the tiny UNet, its ``alphas_cumprod`` and the two prompt embeddings of the backbone (text
encoding is not under test). It states the official loop literally:

- DDIM **inversion over every scheduler step**: with ``seq`` the timesteps sorted ascending, step
  ``i`` runs the UNet at ``([0] + seq[:-1])[i]`` and moves the latent to ``seq[i]``; nothing
  stops after the last kept step;
- **CFG with both chunks** every step: the UNet batch is ``[x, x]`` with ``[uncond, cond]``
  embeddings, ``eps = eps_u + 5 (eps_c - eps_u)``;
- the DDIM update ``x0 = (x - sqrt(1 - a_t) eps) / sqrt(a_t)``,
  ``x' = sqrt(a') x0 + c1 z + c2 eps`` with ``c1 = eta sqrt((1 - a'/a_t)(1 - a')/(1 - a_t))``,
  ``c2 = sqrt(max(1 - a' - c1^2, 1e-10))``, ``eta = 1`` only for ``10 < t < 250``, and
  ``z = randn_like(eps)`` drawn at **every** step (also where eta is 0);
- features of the evaluations whose loop index is in ``save_timestep``: the residual branch
  (``conv2`` output, before the skip-add) of each up-block ResNet, **first chunk only**, and
  the output of each up-block attention's transformer block **summed over both chunks**;
  per stride, ResNets then attentions of that up-block, each layer's kept steps concatenated in
  ``save_timestep`` order.

The project's extractor runs its fast path (stop after the last kept step, one chunk instead of
two identical ones with the attention features doubled). Both see the same latent and start
from the same torch seed, so the eta-noise draws coincide up to the last kept step.
"""
from pathlib import Path
from typing import Dict, List

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmseg_diffuda  # noqa: F401  (registers the models)

REPO = Path(__file__).resolve().parents[3]
init_default_scope('mmseg')

#: diff_config.yaml at the released commit: 37 scheduler timesteps and the kept loop indices.
OFFICIAL_TIMESTEPS = [160, 139, 121, 105, 91, 80, 69, 60, 52, 45, 40, 34, 30, 26, 23, 22, 21, 20,
                      19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
OFFICIAL_SAVE = [33, 29, 25, 22, 18, 14, 11, 7, 3]
GUIDANCE, ETA, S_TMIN, S_TMAX = 5.0, 1.0, 10, 250


def reference_features(unet, alphas_cumprod, latent, cond, uncond, strides,
                       image_height) -> Dict[int, torch.Tensor]:
    """The official plain (no ground truth) DIFF pass, stated step by step."""
    batch = latent.shape[0]
    records: Dict[tuple, List[torch.Tensor]] = {}
    recording = [False]

    def keep(key):
        def hook(module, args, output):
            if recording[0]:
                records.setdefault(key, []).append(output.detach().clone())
        return hook

    handles = []
    for b, block in enumerate(unet.up_blocks):
        for j, resnet in enumerate(block.resnets):
            handles.append(resnet.conv2.register_forward_hook(keep(('resnet', b, j))))
        for j, attention in enumerate(getattr(block, 'attentions', None) or []):
            handles.append(attention.transformer_blocks[0].register_forward_hook(
                keep(('attention', b, j))))
    seq = sorted(OFFICIAL_TIMESTEPS)
    context = torch.cat([uncond[None].expand(batch, -1, -1), cond[None].expand(batch, -1, -1)])
    x = latent.clone()
    try:
        with torch.no_grad():
            for i, (t, t_next) in enumerate(zip([0] + seq[:-1], seq)):
                recording[0] = i in OFFICIAL_SAVE
                out = unet(torch.cat([x, x]), torch.ones(1) * t,
                           encoder_hidden_states=context).sample
                eps_u, eps_c = out[:batch], out[batch:]
                eps = eps_u + GUIDANCE * (eps_c - eps_u)
                a_t, a_next = alphas_cumprod[t], alphas_cumprod[t_next]
                eta = ETA if S_TMIN < t < S_TMAX else 0.0
                c1 = eta * ((1 - a_next / a_t) * (1 - a_next) / (1 - a_t)).sqrt()
                c2 = torch.clamp(1 - a_next - c1**2, min=1e-10).sqrt()
                x0 = (x - eps * (1 - a_t).sqrt()) / a_t.sqrt()
                x = a_next.sqrt() * x0 + c1 * torch.randn_like(eps) + c2 * eps
    finally:
        for handle in handles:
            handle.remove()
    # records[key][k] is the k-th kept evaluation in loop order; save_timestep order is another
    loop_order = sorted(OFFICIAL_SAVE)
    by_step = {key: {loop_order[k]: value for k, value in enumerate(values)}
               for key, values in records.items()}
    features = {}
    for stride in strides:
        parts = []
        for b in range(len(unet.up_blocks)):
            height = by_step[('resnet', b, 0)][OFFICIAL_SAVE[0]].shape[2]
            if image_height // height != stride:
                continue
            for key in sorted(k for k in by_step if k[1] == b and k[0] == 'resnet'):
                parts += [by_step[key][i][:batch] for i in OFFICIAL_SAVE]
            for key in sorted(k for k in by_step if k[1] == b and k[0] == 'attention'):
                for i in OFFICIAL_SAVE:
                    # tokens (2B, h*w, C) -> (2, B, C, h, w), summed over the prompt chunks
                    tokens = by_step[key][i]
                    maps = tokens.view(2, batch, height, tokens.shape[1] // height, -1)
                    parts.append(maps.permute(0, 1, 4, 2, 3).sum(0))
        features[stride] = torch.cat(parts, dim=1)
    return features


@pytest.fixture(scope='module')
def backbone():
    cfg = Config.fromfile(REPO / 'configs/_base_/models/diff_tiny.py').model.backbone.to_dict()
    cfg.update(scheduler_timesteps=OFFICIAL_TIMESTEPS, save_indices=OFFICIAL_SAVE)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def test_extractor_matches_the_official_algorithm(backbone):
    images = torch.rand(2, 3, 64, 128, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.manual_seed(1)
    latent = backbone.encode_latent(images)
    assert backbone.stop_after_last_save and backbone.skip_identical_cfg  # the fast path
    torch.manual_seed(2)
    ours = backbone.diffusion_features(latent)
    torch.manual_seed(2)
    reference = reference_features(backbone.unet, backbone.alphas_cumprod, latent,
                                   backbone.cond_embedding, backbone.uncond_embedding,
                                   backbone.feature_strides, 64)
    assert sorted(ours) == sorted(reference) == [8, 16, 32]
    for stride in reference:
        assert ours[stride].shape == reference[stride].shape, stride
        scale = float(reference[stride].abs().mean())
        assert scale > 0
        torch.testing.assert_close(ours[stride], reference[stride], rtol=1e-4,
                                   atol=1e-5 * scale + 1e-6, msg=f'stride {stride}')
