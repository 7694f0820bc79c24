"""lessons_lib: the small library behind the optimizer course.

Modules, one concern each:

* ``lessons_lib.optim`` -- the update rules (SGD, momentum, AdaGrad, RMSprop, Adam, AdamW);
* ``lessons_lib.surfaces`` -- 2-D loss surfaces with analytic gradients;
* ``lessons_lib.runner`` -- run a rule on a surface and keep the trajectory;
* ``lessons_lib.plotting`` -- contour plots and trajectories;
* ``lessons_lib.widgets``, ``lessons_lib.race``, ``lessons_lib.playground`` -- live figures for controls;
* ``lessons_lib.data`` -- small real data sets that ship with scikit-learn;
* ``lessons_lib.figures`` -- the figures and widgets of one lesson each;
* ``lessons_lib.exercises`` -- the self-checks of the graded exercises;
* ``lessons_lib.exercise_notebooks``, ``lessons_lib.grade`` -- generate student notebooks, grade a class;
* ``lessons_lib.environment`` -- the setup check of lesson 00;
* ``lessons_lib.checks`` -- the argument checks behind the clear error messages;
* ``lessons_lib.notebooks`` -- re-execute notebooks and compare their figures (for maintainers).
"""

__version__ = "0.1.0"
