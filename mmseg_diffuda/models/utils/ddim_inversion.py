"""DDIM inversion bookkeeping and update rule of DIFF's feature extractor.

DIFF (Ji et al., ICASSP 2025), official ``mmseg/models/backbones/diff/src/archs/stable_diffusion/
diffusion.py`` (``generalized_steps`` with ``run_inversion=True`` and ``get_xt_next``) and
``configs/diff_config.yaml`` (``scheduler_timesteps``, ``save_timestep``, ``eta``, ``s_tmin``,
``s_tmax``). DDIM: Song et al., ICLR 2021.

The official loop sorts the configured scheduler timesteps ascending (``seq``) and steps the
latent *upwards*: evaluation ``i`` runs the UNet at ``t_i = ([0] + seq[:-1])[i]`` and moves the
latent to ``seq[i]``. Features are kept at the evaluations whose *loop index* is listed in
``save_timestep`` (an index, not a timestep).
"""
from typing import List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: DIFF's released 37-step schedule (``diff_config.yaml``) and the loop indices it keeps.
DIFF_TIMESTEPS_37 = (160, 139, 121, 105, 91, 80, 69, 60, 52, 45, 40, 34, 30, 26, 23, 22, 21, 20,
                     19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
DIFF_SAVE_INDICES_37 = (33, 29, 25, 22, 18, 14, 11, 7, 3)
#: The commented-out 5-step alternative of the same file: every evaluation is kept.
DIFF_TIMESTEPS_5 = (80, 60, 40, 20, 1)
DIFF_SAVE_INDICES_5 = (4, 3, 2, 1, 0)


class InversionSchedule(NamedTuple):
    """Which UNet evaluations an inversion runs and which it keeps.

    Attributes:
        steps (list[tuple[int, int]]): ``(t_i, t_next_i)`` per loop index ``i``: the UNet runs
            at ``t_i`` and the latent moves to ``t_next_i``.
        save_indices (tuple[int, ...]): Loop indices whose features are kept, in the order
            their features are concatenated.
    """
    steps: List[Tuple[int, int]]
    save_indices: Tuple[int, ...]

    @property
    def saved_timesteps(self) -> List[int]:
        """UNet timesteps of the kept evaluations, in ``save_indices`` order."""
        return [self.steps[i][0] for i in self.save_indices]

    @property
    def last_saved_index(self) -> int:
        """Loop index of the last kept evaluation (later ones cannot change any feature)."""
        return max(self.save_indices)

    def num_evaluations(self, stop_after_last_save: bool) -> int:
        """UNet evaluations (per prompt chunk) of one inversion.

        Args:
            stop_after_last_save (bool): Stop after the last kept evaluation (ours) instead of
                running every step (official).

        Returns:
            int: The number of loop iterations.
        """
        return self.last_saved_index + 1 if stop_after_last_save else len(self.steps)


def inversion_schedule(scheduler_timesteps: Sequence[int],
                       save_indices: Sequence[int]) -> InversionSchedule:
    """Build the inversion loop of ``generalized_steps(run_inversion=True)``.

    Args:
        scheduler_timesteps (Sequence[int]): The configured timesteps (DIFF: descending, as a
            diffusers scheduler holds them); their order does not matter.
        save_indices (Sequence[int]): Loop indices whose features are kept.

    Returns:
        InversionSchedule: The steps and kept indices.

    Raises:
        ValueError: For repeated timesteps or kept indices outside the loop.
    """
    seq = sorted(int(t) for t in scheduler_timesteps)
    if len(set(seq)) != len(seq) or not seq or seq[0] < 1:
        raise ValueError('scheduler_timesteps must be distinct positive timesteps, got '
                         f'{list(scheduler_timesteps)}.')
    steps = list(zip([0] + seq[:-1], seq))
    save = tuple(int(i) for i in save_indices)
    bad = [i for i in save if not 0 <= i < len(steps)]
    if not save or bad or len(set(save)) != len(save):
        raise ValueError(f'save_indices must be distinct loop indices in [0, {len(steps)}) '
                         f'(one per scheduler timestep), got {list(save_indices)}.')
    return InversionSchedule(steps, save)


def eta_at(timestep: int, eta: float, eta_window: Tuple[float, float]) -> float:
    """DDIM eta at ``timestep``: ``eta`` strictly inside ``eta_window``, else 0 (official
    ``s_tmin < t < s_tmax``, with ``t`` the timestep the UNet runs at).

    Args:
        timestep (int): The evaluation timestep ``t_i``.
        eta (float): The configured eta.
        eta_window (tuple[float, float]): ``(s_tmin, s_tmax)``.

    Returns:
        float: The eta of this step.
    """
    low, high = eta_window
    return eta if low < timestep < high else 0.0


def ddim_inversion_coefficients(alpha_t: Tensor, alpha_next: Tensor,
                                eta: float) -> Tuple[Tensor, Tensor]:
    """Noise and direction coefficients ``(c1, c2)`` of one DDIM step from ``t`` to ``t_next``.

    ``c1 = eta * sqrt((1 - a_skip) (1 - a_next) / (1 - a_t))`` with ``a_skip = a_next / a_t``
    when stepping up (inversion) and ``a_t / a_next`` when stepping down;
    ``c2 = sqrt(max(1 - a_next - c1^2, 1e-10))``.

    Args:
        alpha_t (Tensor): ``alpha_bar`` at the evaluation timestep (scalar tensor).
        alpha_next (Tensor): ``alpha_bar`` at the next timestep.
        eta (float): Eta of this step.

    Returns:
        tuple[Tensor, Tensor]: ``c1`` and ``c2`` (scalar tensors).
    """
    a_skip = alpha_next / alpha_t if alpha_next < alpha_t else alpha_t / alpha_next
    c1 = eta * ((1 - a_skip) * (1 - alpha_next) / (1 - alpha_t)).sqrt()
    c2 = torch.clamp((1 - alpha_next) - c1**2, min=1e-10).sqrt()
    return c1, c2


def ddim_step(latent: Tensor, eps: Tensor, alpha_t: Tensor, alpha_next: Tensor, eta: float,
              noise: Tensor) -> Tensor:
    """One DDIM step: ``x_next = sqrt(a_next) x0 + c1 noise + c2 eps``,
    ``x0 = (x_t - sqrt(1 - a_t) eps) / sqrt(a_t)``.

    Args:
        latent (Tensor): ``x_t`` (N, C, h, w).
        eps (Tensor): Predicted noise (N, C, h, w).
        alpha_t (Tensor): ``alpha_bar`` at ``t`` (scalar tensor).
        alpha_next (Tensor): ``alpha_bar`` at ``t_next``.
        eta (float): Eta of this step.
        noise (Tensor): Standard normal noise like ``eps`` (drawn even when ``eta = 0``, as the
            official loop does, so the random stream does not depend on eta).

    Returns:
        Tensor: ``x_next`` (N, C, h, w).
    """
    c1, c2 = ddim_inversion_coefficients(alpha_t, alpha_next, eta)
    x0 = (latent - eps * (1 - alpha_t).sqrt()) / alpha_t.sqrt()
    return alpha_next.sqrt() * x0 + c1 * noise + c2 * eps


def v_to_eps(v: Tensor, latent: Tensor, alpha_t: Tensor) -> Tensor:
    """Noise from a v-prediction: ``eps = sqrt(a_t) v + sqrt(1 - a_t) x_t`` (Salimans & Ho,
    ICLR 2022), for v-prediction checkpoints such as ``stable-diffusion-2-1`` (768-v).

    Args:
        v (Tensor): UNet output (N, C, h, w).
        latent (Tensor): ``x_t`` the UNet ran on.
        alpha_t (Tensor): ``alpha_bar`` at ``t``.

    Returns:
        Tensor: ``eps``.
    """
    return alpha_t.sqrt() * v + (1 - alpha_t).sqrt() * latent


def guided_eps(eps_uncond: Tensor, eps_text: Tensor, guidance_scale: Optional[float]) -> Tensor:
    """Classifier-free guidance ``eps_u + s (eps_c - eps_u)`` (None: ``eps_text`` unchanged).

    Args:
        eps_uncond (Tensor): Unconditional prediction, broadcastable to ``eps_text``.
        eps_text (Tensor): Conditional prediction(s).
        guidance_scale (float, optional): ``s``.

    Returns:
        Tensor: The guided prediction.
    """
    if guidance_scale is None:
        return eps_text
    return eps_uncond + guidance_scale * (eps_text - eps_uncond)
