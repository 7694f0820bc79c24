"""lessons_lib: the small library behind the optimizer course.

Modules, one concern each:

* ``lessons_lib.optim`` -- the update rules (SGD, momentum, AdaGrad, RMSprop, Adam, AdamW);
* ``lessons_lib.surfaces`` -- 2-D loss surfaces with analytic gradients;
* ``lessons_lib.runner`` -- run a rule on a surface and keep the trajectory;
* ``lessons_lib.plotting`` -- contour plots and trajectories;
* ``lessons_lib.checks`` -- the argument checks behind the clear error messages;
* ``lessons_lib.notebooks`` -- re-execute notebooks and compare their figures (for maintainers).
"""

__version__ = "0.1.0"
