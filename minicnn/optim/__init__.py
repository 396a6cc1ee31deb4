"""Optimizers and learning-rate schedulers with torch.optim's names, arguments and defaults.

``SGD``, ``Adam``, ``AdamW`` and ``LBFGS`` update parameters in place from their
``.grad``; ``lr_scheduler`` changes their learning rates between epochs.
``state_dict()`` / ``load_state_dict()`` resume a run exactly;
``state_dict_to_arrays`` / ``state_dict_from_arrays`` put a state dict in an
``.npz`` file (see ``minicnn.optim.optimizer``).
"""
from minicnn.optim.optimizer import (Optimizer, required, state_dict_from_arrays,
                                     state_dict_to_arrays)
from minicnn.optim.sgd import SGD
from minicnn.optim.adam import Adam, AdamW
from minicnn.optim.lbfgs import LBFGS
from minicnn.optim import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "LBFGS", "lr_scheduler", "required",
           "state_dict_to_arrays", "state_dict_from_arrays"]
