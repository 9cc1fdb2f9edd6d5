"""Memory plans of training iterations, computed on fake tensors (no GPU, no real compute)."""
from .fake_mode import PlanFakeTensorMode
from .levers import LEVERS, apply_levers, random_weights
from .plan import MemoryPlan, plan_train_step
from .synthetic import synthetic_uda_batch

__all__ = [
    'LEVERS', 'MemoryPlan', 'PlanFakeTensorMode', 'apply_levers', 'plan_train_step',
    'random_weights', 'synthetic_uda_batch'
]
