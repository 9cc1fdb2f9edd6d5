"""Train (or reuse from the cache) the toy foundation models and link them into the clone.

Each model is cached in ``<cache>/<folder>-<key>/`` where ``key`` hashes its recipe
(:func:`~mmseg_diffuda.toy.pretrain.recipe.recipe_key`). A model is built in a temporary folder and
renamed into place when complete, so an interrupted run never leaves a half-written model that a
later run would reuse. ``<out_dir>/<folder>`` (``data/toy_models/...`` in the configs) is a symbolic
link to the cached folder.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable, Dict, Optional, Sequence, Tuple

from .corpus import Corpus, make_corpus
from .recipe import DEFAULT_CACHE, FOLDERS, MODEL_NAMES, full_recipe, recipe_key

#: Marker written last into a cached model folder.
COMPLETE = '.complete'
#: Files the configs point to, relative to ``<out_dir>/<folder>``.
MIT_FILE = 'mit-tiny.pth'


def _build_mit(folder: str, recipe: Dict, corpus: Corpus, progress: bool, **_) -> None:
    from .mit import pretrain_mit, save_mit_checkpoint
    s = recipe['schedule']
    backbone = pretrain_mit(corpus, recipe['arch'], s['steps'], s['batch_size'], s['lr'],
                            s['crop'], s['seed'], s['colour_jitter'], s['grey_prob'], progress)
    save_mit_checkpoint(backbone, osp.join(folder, MIT_FILE), dict(recipe=recipe))


def _build_sd(folder: str, recipe: Dict, corpus: Corpus, progress: bool,
              vae_folder: Optional[str] = None, **_) -> None:
    from .stable_diffusion import (encode_corpus, pretrain_unet, pretrain_vae, save_sd_folder,
                                   write_clip_tokenizer)
    s, arch = recipe['schedule'], recipe['arch']
    tokenizer = write_clip_tokenizer(osp.join(folder, '.tokenizer'))
    shutil.rmtree(osp.join(folder, '.tokenizer'))
    if vae_folder is None:
        vae, latents = pretrain_vae(corpus, arch['vae'], s['vae_steps'], s['vae_batch_size'],
                                    s['vae_lr'], s['kl_weight'], s['crop'], s['seed'], progress)
    else:
        from diffusers import AutoencoderKL
        vae = AutoencoderKL.from_pretrained(vae_folder, subfolder='vae')
        latents = encode_corpus(vae, corpus)
    latents = latents * vae.config.scaling_factor
    unet, text_encoder = pretrain_unet(corpus, latents, arch['unet'], arch['text_encoder'],
                                       arch['scheduler'], tokenizer, s['unet_steps'],
                                       s['unet_batch_size'], s['unet_lr'], s['latent_crop'],
                                       s['seed'] + 1, progress)
    save_sd_folder(folder, unet, vae, text_encoder, tokenizer, arch['scheduler'])


def _build_clip(folder: str, recipe: Dict, corpus: Corpus, progress: bool, **_) -> None:
    from .clip import pretrain_clip, save_clip_folder
    s = recipe['schedule']
    model = pretrain_clip(corpus, recipe['arch'], s['steps'], s['batch_size'], s['lr'], s['crop'],
                          s['seed'], s['short_caption_prob'], progress)
    save_clip_folder(folder, model, recipe['arch'])


_BUILDERS: Dict[str, Callable] = {'mit': _build_mit, 'sd': _build_sd, 'sd2': _build_sd,
                                  'clip': _build_clip}


def _link(target: str, link: str) -> None:
    """Point ``link`` at ``target`` (replacing an older link; never a real folder)."""
    if osp.islink(link):
        os.unlink(link)
    elif osp.exists(link):
        raise FileExistsError(f'{link} exists and is not a link made by '
                              'tools/pretrain_toy_models.py; move it away (the toy models live '
                              'in the cache and are linked).')
    os.makedirs(osp.dirname(osp.abspath(link)), exist_ok=True)
    os.symlink(target, link)


def _build_one(name: str, final: str, recipe: Dict, corpus: Corpus, progress: bool,
               vae_folder: Optional[str], cache_dir: str) -> None:
    """Build model ``name`` into a temporary folder and rename it to ``final`` when complete."""
    tmp = tempfile.mkdtemp(prefix=f'.{FOLDERS[name]}-', dir=cache_dir)
    try:
        _BUILDERS[name](tmp, recipe, corpus, progress, vae_folder=vae_folder)
        with open(osp.join(tmp, 'recipe.json'), 'w', encoding='utf-8') as f:
            json.dump(recipe, f, indent=2, sort_keys=True)
        open(osp.join(tmp, COMPLETE), 'w').close()
        if osp.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if osp.exists(tmp):
            shutil.rmtree(tmp)


def _build_chain(chain: Sequence[Tuple[str, str, Dict]], corpus: Corpus, progress: bool,
                 folders: Dict[str, str], cache_dir: str) -> None:
    """Build the models of one chain in order, on one CPU thread (results do not depend on the
    number of parallel chains)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for name, final, recipe in chain:
            vae_folder = folders['sd'] if name == 'sd2' else None  # SD 2.x kept SD's VAE
            _build_one(name, final, recipe, corpus, progress, vae_folder, cache_dir)
    finally:
        torch.set_num_threads(threads)


def build_toy_models(out_dir: str,
                     archs: Dict,
                     names: Sequence[str] = MODEL_NAMES,
                     schedules: Optional[Dict] = None,
                     cache_dir: str = DEFAULT_CACHE,
                     progress: bool = True,
                     force: bool = False,
                     workers: int = 2,
                     log: Callable[[str], None] = print) -> Dict[str, str]:
    """Make the toy foundation models ``names`` and link them under ``out_dir``.

    Models that are not cached are trained in up to ``workers`` parallel (spawned) processes of
    one CPU thread each (``sd2`` after ``sd``, whose VAE it reuses); every model is seeded on its
    own, so the files do not depend on ``workers``.

    Args:
        out_dir (str): Where the links go (``data/toy_models`` in the configs).
        archs (dict): Architecture of each model (``mit``: MiT backbone config; ``sd``/``sd2``:
            ``dict(unet=, vae=, text_encoder=, scheduler=)``; ``clip``: open_clip model config).
        names (Sequence[str]): Models to make; ``sd2`` also makes ``sd`` (it reuses its VAE).
        schedules (dict, optional): Schedules (default: the recipe's).
        cache_dir (str): Cache root.
        progress (bool): Show progress bars.
        force (bool): Re-train even when the cache holds the model.
        workers (int): Parallel training processes (1: in this process).
        log (Callable): Receives one line per model.

    Returns:
        dict[str, str]: Model name -> cached folder.
    """
    unknown = set(names) - set(MODEL_NAMES)
    if unknown:
        raise KeyError(f'Unknown toy models {sorted(unknown)}; choose from {list(MODEL_NAMES)}.')
    wanted = [n for n in MODEL_NAMES if n in names or (n == 'sd' and 'sd2' in names)]
    os.makedirs(cache_dir, exist_ok=True)
    folders: Dict[str, str] = {}
    todo: Dict[str, Tuple[str, str, Dict]] = {}
    for name in wanted:
        recipe = full_recipe(name, archs, schedules)
        final = osp.join(cache_dir, f'{FOLDERS[name]}-{recipe_key(name, recipe)}')
        folders[name] = final
        if force or not osp.isfile(osp.join(final, COMPLETE)):
            todo[name] = (name, final, recipe)
        else:
            log(f'[toy models] {FOLDERS[name]}: cached ({final})')
    if todo:
        c = next(iter(todo.values()))[2]['corpus']
        corpus = make_corpus(c['per_style'], c['seed'], c['height'], c['width'],
                             progress=progress)
        chains = [[todo[n] for n in group if n in todo]
                  for group in (('sd', 'sd2'), ('mit', ), ('clip', ))]
        chains = [chain for chain in chains if chain]
        for name, final, _ in todo.values():
            log(f'[toy models] training {FOLDERS[name]} -> {final}')
        tasks = [(chain, corpus, progress, folders, cache_dir) for chain in chains]
        if workers > 1 and len(tasks) > 1:
            import multiprocessing

            # spawn, not fork: a forked child cannot run autograd once its parent has
            # (https://github.com/pytorch/pytorch/wiki/Autograd-and-Fork)
            context = multiprocessing.get_context('spawn')
            for start in range(0, len(tasks), workers):
                procs = [context.Process(target=_build_chain, args=task)
                         for task in tasks[start:start + workers]]
                for proc in procs:
                    proc.start()
                for proc in procs:
                    proc.join()
        else:
            for task in tasks:
                _build_chain(*task)
        failed = [n for n in todo if not osp.isfile(osp.join(folders[n], COMPLETE))]
        if failed:
            raise RuntimeError(f'Toy models {failed} were not written; see the messages above.')
    for name in wanted:
        if name in names:
            _link(folders[name], osp.join(out_dir, FOLDERS[name]))
    return folders
