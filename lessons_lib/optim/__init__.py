"""The update rules of the course, one module each, following torch.optim's conventions.

Every rule is a small frozen dataclass of hyperparameters (checked when it is
made) with two methods:

* ``init(theta) -> state``: what the rule remembers before the first step;
* ``step(theta, grad, state) -> (new_theta, new_state)``: one update. Nothing
  is modified in place, so you can print, keep and compare every state.

``step`` checks its arguments and then calls ``update``, which is the rule
itself, line for line like the equations in the docstring: read that one.
What every rule shares (the checks, ``init``, ``step``, and weight decay, L2
or decoupled by one switch, ``decoupled_weight_decay``) is written once, in
``base``.

A variant is its delta: ``AdamW`` and ``AMSGrad`` are ``Adam`` with other
defaults; NAdam, RAdam, AdaBelief and Adamax subclass ``Adam`` and change the
line their docstring marks (their ``DELTA`` writes it against ``Adam.LINES``,
for lesson 09's table); Lion keeps only a momentum; ``Lookahead`` wraps any
rule. ``state_bytes(rule, theta)`` (module ``memory``) tells what a rule
keeps per parameter.

Modules: ``base`` (the shared machinery), ``sgd`` (SGD, EMA momentum),
``adagrad``, ``rmsprop``, ``adam`` (Adam, AdamW, AMSGrad), ``nadam``,
``radam``, ``adamax``, ``adabelief``, ``lion``, ``lookahead``, ``memory``;
lesson 11's: ``muon`` (Muon, ``newton_schulz``), ``per_matrix`` (a rule
matrix by matrix on a flat θ: ``PerMatrix``, ``MuonWithAdamW``),
``adafactor``, ``schedule_free`` (AdamWScheduleFree), ``adopt`` (ADOPT),
``cautious`` (the Cautious mask around any rule).
"""

from lessons_lib.optim.adabelief import AdaBelief, AdaBeliefState
from lessons_lib.optim.adagrad import AdaGrad, AdaGradState
from lessons_lib.optim.adam import Adam, AdamState, AdamW, AMSGrad
from lessons_lib.optim.adafactor import Adafactor, AdafactorState
from lessons_lib.optim.adamax import Adamax, AdamaxState
from lessons_lib.optim.adopt import ADOPT
from lessons_lib.optim.cautious import Cautious
from lessons_lib.optim.lion import Lion, LionState
from lessons_lib.optim.lookahead import Lookahead, LookaheadState
from lessons_lib.optim.memory import state_arrays, state_bytes
from lessons_lib.optim.muon import Muon, MuonState, newton_schulz
from lessons_lib.optim.nadam import NAdam, NAdamState
from lessons_lib.optim.per_matrix import MuonWithAdamW, PerMatrix, PerMatrixState, weight_matrices
from lessons_lib.optim.radam import RAdam, RAdamState
from lessons_lib.optim.rmsprop import RMSprop, RMSpropState
from lessons_lib.optim.schedule_free import AdamWScheduleFree, ScheduleFreeState
from lessons_lib.optim.sgd import SGD, EMAMomentum, EMAMomentumState, SGDState

__all__ = [
    "SGD", "SGDState", "EMAMomentum", "EMAMomentumState", "AdaGrad", "AdaGradState", "RMSprop", "RMSpropState",
    "Adam", "AdamState", "AdamW", "AMSGrad", "NAdam", "NAdamState", "RAdam", "RAdamState", "Adamax", "AdamaxState",
    "AdaBelief", "AdaBeliefState", "Lion", "LionState", "Lookahead", "LookaheadState", "state_arrays", "state_bytes",
    "Muon", "MuonState", "newton_schulz", "PerMatrix", "PerMatrixState", "MuonWithAdamW", "weight_matrices",
    "Adafactor", "AdafactorState", "AdamWScheduleFree", "ScheduleFreeState", "ADOPT", "Cautious",
]
