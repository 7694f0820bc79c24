"""The update rules of the course, one module each, following torch.optim's conventions.

Every rule is a small frozen dataclass of hyperparameters (checked when it is
made) with two methods:

* ``init(theta) -> state``: what the rule remembers before the first step;
* ``step(theta, grad, state) -> (new_theta, new_state)``: one update. Nothing
  is modified in place, so you can print, keep and compare every state.

``step`` checks its arguments and then calls ``update``, which is the rule
itself, line for line like the equations in the docstring: read that one.

Adam's variants (NAdam, RAdam, Adamax, AdaBelief, Lion) each say in their
docstring which line differs from Adam; ``Lookahead`` wraps any rule.
``state_bytes(rule, theta)`` (module ``memory``) tells what a rule keeps per
parameter.

Modules: ``sgd`` (SGD, EMA momentum), ``adagrad``, ``rmsprop``, ``adam`` (Adam,
AdamW), ``nadam``, ``radam``, ``adamax``, ``adabelief``, ``lion``, ``lookahead``,
``memory``.
"""

from lessons_lib.optim.adabelief import AdaBelief, AdaBeliefState
from lessons_lib.optim.adagrad import AdaGrad, AdaGradState
from lessons_lib.optim.adam import Adam, AdamState, AdamW
from lessons_lib.optim.adamax import Adamax, AdamaxState
from lessons_lib.optim.lion import Lion, LionState
from lessons_lib.optim.lookahead import Lookahead, LookaheadState
from lessons_lib.optim.memory import state_arrays, state_bytes
from lessons_lib.optim.nadam import NAdam, NAdamState
from lessons_lib.optim.radam import RAdam, RAdamState
from lessons_lib.optim.rmsprop import RMSprop, RMSpropState
from lessons_lib.optim.sgd import SGD, EMAMomentum, EMAMomentumState, SGDState

__all__ = [
    "SGD",
    "SGDState",
    "EMAMomentum",
    "EMAMomentumState",
    "AdaGrad",
    "AdaGradState",
    "RMSprop",
    "RMSpropState",
    "Adam",
    "AdamState",
    "AdamW",
    "NAdam",
    "NAdamState",
    "RAdam",
    "RAdamState",
    "Adamax",
    "AdamaxState",
    "AdaBelief",
    "AdaBeliefState",
    "Lion",
    "LionState",
    "Lookahead",
    "LookaheadState",
    "state_arrays",
    "state_bytes",
]
