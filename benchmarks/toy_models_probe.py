"""Probe the toy foundation models against random initialisation on held-out corpus images.

Held-out images are corpus samples of another seed (never seen in pretraining), every style:

* **MiT**: linear probe on the pooled features of the four stages (style top-1 accuracy and the
  mean per-class accuracy of the 19 class tags), half of the images to fit, half to score;
* **SD VAE**: reconstruction PSNR (dB, 0..255 images) per style, through the mean latent, and the
  round trip of MADM's palette-painted label maps (LPLR's regression target; toy source labels);
* **SD UNet** (v1 and 2.x layout): epsilon MSE at t = 60 (DPLG's noise level) per style, with the
  caption as condition (predicting zero scores 1.0);
* **CLIP**: zero-shot style accuracy ("a <style phrase> of a street", 11 prompts), image ->
  caption retrieval R@1 / R@5 among the held-out captions, and the mean per-class AUC of LC-MSM's
  class prompts for the classes an image shows (does the text tower know the class names?).

Each figure is printed for the pretrained model (``data/toy_models``) and the same architecture with
random weights (the random-init ablation configs). Example::

    python tools/pretrain_toy_models.py && python benchmarks/toy_models_probe.py
"""
import argparse
import os.path as osp
import sys
from typing import Dict, List

import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
from pretrain_toy_models import toy_architectures  # noqa: E402

from mmseg_diffuda.toy.pretrain.corpus import (CORPUS_STYLES, Corpus, make_corpus,  # noqa: E402
                                               with_article)
from mmseg_diffuda.toy.pretrain.recipe import FOLDERS  # noqa: E402

#: The MADM toy config and the palette of its LPLR (the palette probe).
MADM_CONFIG = 'configs/madm/madm_tiny_toy-rgb2depth.py'
MADM_PALETTE = 'CityscapesMADM11Dataset'


def mit_features(backbone, corpus: Corpus) -> torch.Tensor:
    from mmseg_diffuda.toy.pretrain.mit import normalise_imagenet
    with torch.no_grad():
        x = normalise_imagenet(torch.from_numpy(corpus.images).float().permute(0, 3, 1, 2))
        return torch.cat([f.mean(dim=(2, 3)) for f in backbone(x)], dim=1)


def linear_probe(feats: torch.Tensor, corpus: Corpus, steps: int = 300) -> Dict[str, float]:
    """Fit style (softmax) and tag (sigmoid) linear heads on even images, score on odd ones."""
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-6)
    fit, score = slice(0, None, 2), slice(1, None, 2)
    styles = torch.from_numpy(corpus.styles)
    tags = torch.from_numpy(corpus.tags)
    torch.manual_seed(0)
    style_head = torch.nn.Linear(feats.shape[1], len(CORPUS_STYLES))
    tag_head = torch.nn.Linear(feats.shape[1], tags.shape[1])
    opt = torch.optim.Adam(list(style_head.parameters()) + list(tag_head.parameters()), lr=1e-2,
                           weight_decay=1e-3)
    for _ in range(steps):
        loss = F.cross_entropy(style_head(feats[fit]), styles[fit]) + \
            F.binary_cross_entropy_with_logits(tag_head(feats[fit]), tags[fit])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        style_acc = (style_head(feats[score]).argmax(1) == styles[score]).float().mean()
        tag_acc = ((tag_head(feats[score]) > 0).float() == tags[score]).float().mean()
    return dict(style_acc=100 * style_acc.item(), tag_acc=100 * tag_acc.item())


def probe_mit(corpus: Corpus, archs: Dict, folder: str) -> Dict[str, Dict[str, float]]:
    from mmseg.registry import MODELS
    from mmseg_diffuda.toy.pretrain.build import MIT_FILE
    from mmseg_diffuda.toy.pretrain.mit import build_mit
    out = {}
    torch.manual_seed(0)
    out['random'] = linear_probe(mit_features(build_mit(archs['mit']).eval(), corpus), corpus)
    cfg = dict(archs['mit'], init_cfg=dict(type='Pretrained',
                                           checkpoint=osp.join(folder, MIT_FILE)))
    backbone = MODELS.build(cfg)
    backbone.init_weights()
    out['pretrained'] = linear_probe(mit_features(backbone.eval(), corpus), corpus)
    return out


def per_style(values: torch.Tensor, corpus: Corpus) -> Dict[str, float]:
    return {s.name: values[torch.from_numpy(corpus.styles == i)].mean().item()
            for i, s in enumerate(CORPUS_STYLES)}


@torch.no_grad()
def vae_psnr(vae, corpus: Corpus) -> Dict[str, float]:
    x = torch.from_numpy(corpus.images).float().permute(0, 3, 1, 2) / 127.5 - 1
    recon = torch.cat([vae.decode(vae.encode(x[i:i + 32]).latent_dist.mean).sample
                       for i in range(0, len(x), 32)]).clamp(-1, 1)
    mse = ((recon - x) * 127.5).pow(2).mean(dim=(1, 2, 3))
    return per_style(10 * torch.log10(255.0**2 / mse), corpus)


def madm_source_labels(config: str, count: int) -> torch.Tensor:
    """The first ``count`` source label maps of a MADM config, (N, 1, H, W), as LPLR reads them."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import DATASETS

    import mmseg_diffuda  # noqa: F401  (registers the datasets)
    init_default_scope('mmseg')
    cfg = Config.fromfile(config).train_dataloader.dataset.source
    cfg.pipeline = [t for t in cfg.pipeline if t['type'] in ('LoadImage', 'LoadSegLabel',
                                                              'PackSegInputs')]
    dataset = DATASETS.build(cfg)
    return torch.stack([dataset[i]['data_samples'].gt_sem_seg.data
                        for i in range(min(count, len(dataset)))]).long()


@torch.no_grad()
def palette_round_trip(vae, labels: torch.Tensor, palette: str) -> Dict[str, float]:
    """MADM's LPLR target through the VAE: paint, encode (mean), decode, read the nearest colour.

    LPLR regresses the UNet output onto the VAE latent of the palette-painted label map, so the
    latent carries the label only as far as the VAE reconstructs such images. Returns the PSNR of
    the reconstruction and the pixel accuracy / mIoU (mmseg's ``IoUMetric``) of its
    nearest-palette-colour labels.
    """
    from mmseg.evaluation.metrics import IoUMetric

    from mmseg_diffuda.models.utils.label_palette import LabelPalette
    paint = LabelPalette(palette)
    x = paint(labels)
    recon = vae.decode(vae.encode(x).latent_dist.mean).sample.clamp(-1, 1)
    psnr = 10 * torch.log10(255.0**2 / ((recon - x) * 127.5).pow(2).mean())
    colours = paint.table[:paint.num_colours]  # (K, 3) in [-1, 1]
    pred = (recon[:, :, None] - colours.T[None, :, :, None, None]).pow(2).sum(1).argmin(1)
    gt, valid = labels[:, 0], labels[:, 0] < paint.num_colours
    intersect, union, _, _ = IoUMetric.intersect_and_union(pred, gt, paint.num_colours, 255)
    return dict(psnr_db=psnr.item(),
                pixel_acc=100 * (pred[valid] == gt[valid]).float().mean().item(),
                miou=100 * torch.nanmean(intersect / union).item())


@torch.no_grad()
def unet_eps_mse(parts, corpus: Corpus, timestep: int = 60) -> Dict[str, float]:
    from mmseg_diffuda.toy.pretrain.stable_diffusion import tokenize
    x = torch.from_numpy(corpus.images).float().permute(0, 3, 1, 2) / 127.5 - 1
    g = torch.Generator().manual_seed(0)
    losses = []
    for i in range(0, len(x), 32):
        z = parts.vae.encode(x[i:i + 32]).latent_dist.mean * parts.vae.config.scaling_factor
        noise = torch.randn(z.shape, generator=g)
        t = torch.full((len(z), ), timestep)
        zt = parts.scheduler.add_noise(z, noise, t)
        context = parts.text_encoder(tokenize(parts.tokenizer, corpus.captions[i:i + 32]))[0]
        eps = parts.unet(zt, t, encoder_hidden_states=context).sample
        losses.append((eps - noise).pow(2).mean(dim=(1, 2, 3)))
    return per_style(torch.cat(losses), corpus)


def sd_parts(folder: str, arch: Dict, random: bool, tokenizer_folder: str):
    from mmseg_diffuda.models.utils.diffusion_weights import (build_sd_components,
                                                              load_tokenizer)
    vae_arch = {k: v for k, v in arch['vae'].items() if k != 'scaling_factor'}
    if not random:
        return build_sd_components(folder, arch['unet'], vae_arch, arch['text_encoder'],
                                   arch['scheduler'])
    torch.manual_seed(0)
    parts = build_sd_components(None, arch['unet'], dict(arch['vae']), arch['text_encoder'],
                                arch['scheduler'])
    return parts._replace(tokenizer=load_tokenizer(tokenizer_folder))


@torch.no_grad()
def clip_scores(model, corpus: Corpus) -> Dict[str, float]:
    import open_clip

    from mmseg_diffuda.toy.pretrain.clip import normalise_clip
    tokenizer = open_clip.get_tokenizer('ViT-B-32')
    x = normalise_clip(torch.from_numpy(corpus.images).float().permute(0, 3, 1, 2))
    x = x[:, :, 16:80, 32:160]  # the 64x128 centre crop the model was trained on
    img = F.normalize(model.encode_image(x), dim=-1)
    prompts = [f'{with_article(s.phrase)} of a street' for s in CORPUS_STYLES]
    style_txt = F.normalize(model.encode_text(tokenizer(prompts)), dim=-1)
    style_acc = ((img @ style_txt.T).argmax(1) == torch.from_numpy(corpus.styles)).float().mean()
    cap = F.normalize(model.encode_text(tokenizer(corpus.captions)), dim=-1)
    ranks = (img @ cap.T).argsort(dim=1, descending=True)
    hit = ranks == torch.arange(len(cap))[:, None]
    return dict(style_zero_shot=100 * style_acc.item(),
                r1=100 * hit[:, :1].any(1).float().mean().item(),
                r5=100 * hit[:, :5].any(1).float().mean().item(),
                class_prompt_auc=100 * class_prompt_auc(model, tokenizer, img, corpus))


def class_prompt_auc(model, tokenizer, img: torch.Tensor, corpus: Corpus) -> float:
    """Does the text tower know the class names? Mean per-class ROC AUC of LC-MSM's prompts.

    Every image is scored against LC-MSM's 19 class prompts (``'a photo of a {}.'`` with its
    renames, the embeddings its head reads). Per style and class, the AUC is the probability
    that an image showing the class (its caption tag) scores higher than an image of the same
    style that does not (within a style, so that the prompt's "photo" cannot separate them);
    the figure is the mean over the (style, class) pairs with both kinds of images. 50 is chance.
    """
    from mmseg_diffuda.models.utils.text_embeddings import (LCMSM_CLASS_RENAMES,
                                                            LCMSM_PROMPT_TEMPLATE, class_prompts)
    from mmseg_diffuda.toy.pretrain.corpus import TAG_CLASSES
    prompts = class_prompts(TAG_CLASSES, LCMSM_PROMPT_TEMPLATE, LCMSM_CLASS_RENAMES)
    scores = img @ F.normalize(model.encode_text(tokenizer(prompts)), dim=-1).T
    tags = torch.from_numpy(corpus.tags) > 0
    styles = torch.from_numpy(corpus.styles)
    aucs = []
    for style in styles.unique():
        for k in range(len(TAG_CLASSES)):
            shown = tags[:, k] & (styles == style)
            pos, neg = scores[shown, k], scores[~tags[:, k] & (styles == style), k]
            if len(pos) and len(neg):
                aucs.append((pos[:, None] > neg[None]).float().mean())
    return torch.stack(aucs).mean().item()


def probe_clip(corpus: Corpus, archs: Dict, folder: str) -> Dict[str, Dict[str, float]]:
    import open_clip

    from mmseg_diffuda.toy.pretrain.clip import build_clip
    pretrained = open_clip.create_model(f'local-dir:{folder}').eval()
    return dict(random=clip_scores(build_clip(archs['clip'], 0).eval(), corpus),
                pretrained=clip_scores(pretrained, corpus))


def table(title: str, rows: Dict[str, Dict[str, float]]) -> List[str]:
    keys = list(next(iter(rows.values())))
    lines = [f'\n{title}', '| start | ' + ' | '.join(keys) + ' |', '|---|' + '---|' * len(keys)]
    for name, values in rows.items():
        lines.append(f'| {name} | ' + ' | '.join(f'{values[k]:.2f}' for k in keys) + ' |')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--models', default=osp.join(ROOT, 'data', 'toy_models'))
    parser.add_argument('--per-style', type=int, default=20, help='held-out images per style')
    parser.add_argument('--seed', type=int, default=1, help='held-out corpus seed (not 0)')
    parser.add_argument('--madm-config', default=osp.join(ROOT, MADM_CONFIG),
                        help='MADM config whose source labels the palette probe paints')
    parser.add_argument('--labels', type=int, default=64, help='label maps of the palette probe')
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs = toy_architectures(ROOT)
    corpus = make_corpus(args.per_style, seed=args.seed)
    folder = {name: osp.join(args.models, sub) for name, sub in FOLDERS.items()}
    labels = madm_source_labels(args.madm_config, args.labels)
    lines = [f'held-out corpus: seed {args.seed}, {len(corpus)} images '
             f'({args.per_style} per style)']
    lines += table('MiT linear probe (%)', probe_mit(corpus, archs, folder['mit']))
    for name in ('sd', 'sd2'):
        rows_psnr, rows_palette, rows_eps = {}, {}, {}
        for start in ('random', 'pretrained'):
            parts = sd_parts(folder[name], archs[name], start == 'random', folder['sd'])
            if name == 'sd':
                rows_psnr[start] = vae_psnr(parts.vae, corpus)
                rows_palette[start] = palette_round_trip(parts.vae, labels, MADM_PALETTE)
            rows_eps[start] = unet_eps_mse(parts, corpus)
        if rows_psnr:
            lines += table('SD VAE reconstruction PSNR (dB) per style', rows_psnr)
            lines += table(f'SD VAE round trip of MADM\'s palette-painted labels ({len(labels)} '
                           'toy source label maps)', rows_palette)
        lines += table(f'{FOLDERS[name]} UNet eps-MSE at t=60 per style (zero prediction: 1.0)',
                       rows_eps)
    lines += table('CLIP zero-shot style accuracy and caption retrieval (%)',
                   probe_clip(corpus, archs, folder['clip']))
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
