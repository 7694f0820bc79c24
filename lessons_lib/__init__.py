"""lessons_lib: the small library behind the optimizer course.

The learner's core, one concern a module (read these):

* ``lessons_lib.optim`` -- the update rules, each its docstring's equations line for line;
* ``lessons_lib.surfaces`` -- 2-D loss surfaces with analytic gradients;
* ``lessons_lib.runner`` -- run a rule on a surface, or replay a fixed gradient sequence; ``ewma``;
* ``lessons_lib.data`` -- small real data sets that ship with scikit-learn;
* ``lessons_lib.mlp`` -- a numpy network with its backpropagation written out;
* ``lessons_lib.training`` -- the minibatch training loop;
* ``lessons_lib.schedules`` -- learning-rate schedules;
* ``lessons_lib.clipping`` -- gradient clipping by global norm;
* ``lessons_lib.sweeps`` -- the best value of a sweep, flagged when it lies on the grid's edge;
* ``lessons_lib.checks`` -- the argument checks behind the clear error messages.

Two sub-packages a learner can skip:

* ``lessons_lib.figures`` -- drawing: the figures and live widgets of every lesson;
* ``lessons_lib.tooling`` -- for instructors and maintainers: self-checks, grading,
  student notebooks, re-running notebooks, the nbval plugin, the setup check.
"""

__version__ = "0.1.0"
