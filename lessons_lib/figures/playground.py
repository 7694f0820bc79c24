"""The playground: race any optimizers of the course on any surface, with every knob on a control.

::

    from lessons_lib.figures.playground import Playground
    playground = Playground()
    display(playground.panel)        # live controls and figure
    display(playground.snapshot())   # the same figure as a static picture

Each optimizer has a tab with a "race" checkbox and its own hyperparameters;
above them, the surface, the number of steps and the start point. Any change
re-runs the checked optimizers and redraws the figure in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ipywidgets as widgets

from lessons_lib.optim import SGD, AdaGrad, Adam, AdamW, RMSprop
from lessons_lib.figures.race import LiveRace
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import SURFACES, get_surface
from lessons_lib.figures.live import guarded, log_slider


@dataclass(frozen=True)
class Knob:
    """One hyperparameter on a slider: its argument name, label, default and range (log scale if ``log``)."""

    name: str
    label: str
    value: float
    low: float
    high: float
    log: bool = True

    def slider(self) -> widgets.Widget:
        if self.log:
            return log_slider(self.label, self.value, self.low, self.high)
        return widgets.FloatSlider(value=self.value, min=self.low, max=self.high, step=0.001,
                                   description=self.label, readout_format=".3f", style={"description_width": "initial"})


@dataclass(frozen=True)
class Racer:
    """An optimizer of the playground: how to build it from its knobs' values."""

    label: str
    make: Callable[..., object]
    knobs: tuple[Knob, ...]
    racing: bool = False


def _lr(value: float) -> Knob:
    return Knob("lr", "learning rate η", value, 1e-5, 3.0)


BETA = Knob("momentum", "momentum β", 0.9, 0.0, 0.999, log=False)
BETA1 = Knob("beta1", "β₁", 0.9, 0.0, 0.999, log=False)
BETA2 = Knob("beta2", "β₂", 0.999, 0.0, 0.9999, log=False)
EPS = Knob("eps", "ε", 1e-8, 1e-12, 1.0)

#: The optimizers of the course, in the order of the lessons, with defaults that behave on most surfaces.
RACERS = (
    Racer("SGD", lambda **k: SGD(name="SGD", **k), (_lr(0.01),), racing=True),
    Racer("Momentum", lambda **k: SGD(name="Momentum", **k), (_lr(0.005), BETA), racing=True),
    Racer("Nesterov", lambda **k: SGD(nesterov=True, name="Nesterov", **k), (_lr(0.005), BETA)),
    Racer("AdaGrad", lambda **k: AdaGrad(**k), (_lr(0.5), Knob("eps", "ε", 1e-10, 1e-12, 1.0))),
    Racer("RMSprop", lambda **k: RMSprop(**k), (_lr(0.01), Knob("beta", "β", 0.99, 0.0, 0.9999, log=False), EPS)),
    Racer("Adam", lambda **k: Adam(**k), (_lr(0.05), BETA1, BETA2, EPS), racing=True),
    Racer("AdamW", lambda **k: AdamW(**k), (_lr(0.05), BETA1, BETA2, EPS,
                                            Knob("weight_decay", "weight decay λ", 0.01, 1e-5, 1.0))),
)


def slider_range(slider: widgets.Widget) -> tuple[float, float]:
    """The values a slider can take (a log slider's ``min`` and ``max`` are powers of 10)."""
    if isinstance(slider, widgets.FloatLogSlider):
        return 10.0**slider.min, 10.0**slider.max
    return slider.min, slider.max


class Playground:
    """Controls and a live race figure for the optimizers in ``racers`` on the surfaces of ``SURFACES``."""

    def __init__(self, surface: str = "himmelblau", steps: int = 200, racers: Sequence[Racer] = RACERS) -> None:
        first = get_surface(surface)
        self.racers = list(racers)
        self.surface = widgets.Dropdown(options=sorted(SURFACES), value=first.name, description="surface")
        self.steps = widgets.IntSlider(value=steps, min=10, max=1000, step=10, description="steps")
        self.start_x = widgets.FloatSlider(description="start x", readout_format=".2f")
        self.start_y = widgets.FloatSlider(description="start y", readout_format=".2f")
        self._place_start_sliders(first)
        self.racing = [widgets.Checkbox(value=racer.racing, description=f"race {racer.label}") for racer in self.racers]
        self.knobs = [[knob.slider() for knob in racer.knobs] for racer in self.racers]
        self.status = widgets.HTML()
        self.race = LiveRace(first, [racer.label for racer in self.racers], steps)

        tabs = widgets.Tab(children=[widgets.VBox([box, *sliders]) for box, sliders in zip(self.racing, self.knobs)])
        for index, racer in enumerate(self.racers):
            tabs.set_title(index, racer.label)
        top_row = widgets.HBox([widgets.VBox([self.surface, self.steps]), widgets.VBox([self.start_x, self.start_y])])
        self.panel = widgets.VBox([top_row, tabs, self.status, self.race.live.image])

        self._quiet = False  # True while the playground moves its own sliders
        self._redraw = guarded(self.update, self.race.live.refresh, self.status)
        self.surface.observe(self._on_surface_change, names="value")
        self.steps.observe(self._on_steps_change, names="value")
        for control in [self.start_x, self.start_y, *self.racing, *(s for sliders in self.knobs for s in sliders)]:
            control.observe(self._on_change, names="value")
        self._redraw()

    def _place_start_sliders(self, surface) -> None:
        """Give the start sliders the surface's window and put them at its default start."""
        for slider, (low, high), value in zip((self.start_x, self.start_y), (surface.xlim, surface.ylim), surface.start):
            # One message to the browser for all four changes: sent one by one, the browser's slider
            # would clamp its old value to the new range and send that back, undoing the new start.
            with slider.hold_sync():
                slider.min, slider.max = min(low, slider.min), max(high, slider.max)  # widen, move, narrow
                slider.value = value
                slider.min, slider.max = low, high
                slider.step = (high - low) / 200

    def _on_change(self, change: dict | None = None) -> None:
        if not self._quiet:
            self._redraw()

    def _on_surface_change(self, change: dict) -> None:
        surface = get_surface(change["new"])
        self.race.set_surface(surface, self.steps.value)
        self._quiet = True
        try:
            self._place_start_sliders(surface)
        finally:
            self._quiet = False
        self._redraw()

    def _on_steps_change(self, change: dict) -> None:
        self.race.set_surface(self.race.surface, change["new"])
        self._redraw()

    def configure(self, label: str, race: bool = True, **knob_values: float) -> None:
        """Set one racer's checkbox and knobs from code, e.g. ``configure("Adam", lr=0.3)``; redraws once."""
        labels = [racer.label for racer in self.racers]
        if label not in labels:
            raise ValueError(f"label must be one of {', '.join(labels)}; got {label!r}")
        index = labels.index(label)
        sliders = {knob.name: slider for knob, slider in zip(self.racers[index].knobs, self.knobs[index])}
        unknown = sorted(set(knob_values) - set(sliders))
        if unknown:
            raise ValueError(f"{label} has no knob {', '.join(unknown)}; its knobs are {', '.join(sliders)}")
        for name, value in knob_values.items():  # check everything before changing anything
            low, high = slider_range(sliders[name])
            if not low <= value <= high:
                raise ValueError(f"{label}: {name} = {value} is outside the slider's range [{low:g}, {high:g}]")
        self._quiet = True
        try:
            self.racing[index].value = race
            for name, value in knob_values.items():
                sliders[name].value = value
        finally:
            self._quiet = False
        self._redraw()

    def trajectories(self) -> list[Trajectory | None]:
        """Run every checked optimizer with its knobs' values; None for the others."""
        start = (self.start_x.value, self.start_y.value)
        runs = []
        for racer, box, sliders in zip(self.racers, self.racing, self.knobs):
            if not box.value:
                runs.append(None)
                continue
            rule = racer.make(**{knob.name: slider.value for knob, slider in zip(racer.knobs, sliders)})
            runs.append(run(rule, self.race.surface, start, self.steps.value))
        return runs

    def update(self) -> None:
        """Re-run and redraw (what every control change triggers); divergences are named in the status line."""
        trajectories = self.trajectories()
        self.race.show(trajectories)
        diverged = [t.message for t in trajectories if t is not None and t.diverged]
        self.status.value = "; ".join(diverged)

    def snapshot(self):
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
