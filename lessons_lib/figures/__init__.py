"""Drawing: the figures and live widgets of the lessons (the notebooks call these, so they do not check arguments).

* ``style`` -- the course's figure style: sizes, resolution and text sizes, in one place;
* ``plotting`` -- contour plots, trajectories, loss curves, the palette, log axes and text tables;
* ``live`` -- ``LiveFigure``: a figure redrawn in place into an image, for controls;
* ``race`` -- ``LiveRace``: several optimizers racing on one surface, redrawn live;
* ``playground`` -- the playground of lessons 00 and 10;
* ``lessonNN_*`` -- the figures and widgets of lesson NN, one module a lesson.
"""

from lessons_lib.figures.style import use_course_style

use_course_style()
