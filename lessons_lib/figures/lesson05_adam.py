"""Figures and widgets of lesson 05, Adam.

The lesson writes Adam itself; this module keeps the plumbing:

* ``replay``: feed a scripted sequence of gradients to a rule (a ``lessons_lib.optim``
  rule, or a step function written in the notebook) with ``lessons_lib.runner.replay``,
  and keep the step it takes each time;
* ``step_length_figure``: step lengths in units of η against the step number t;
* ``step_bound_figure``: the size of the gradient and the size of Adam's step, per
  coordinate, along a run on a surface;
* ``noisy_and_steady_gradients`` and ``mean_over_rms``: two parameters, one with large
  noisy gradients and one with a small steady gradient, and the number that predicts
  Adam's drift in each;
* ``SignalToNoise``: those two parameters moving side by side under SGD and Adam, with
  the noise and the steady gradient on sliders;
* ``AdamRace``: SGD, Momentum, RMSprop and Adam on a chosen surface, with every
  hyperparameter on a control.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.figure import Figure

from lessons_lib.figures.live import LiveFigure, arrange, guarded, log_slider, picture_max_height
from lessons_lib.figures.plotting import COLORS, major_ticks_only
from lessons_lib.figures.race import LiveRace
from lessons_lib.figures.style import WIDTH
from lessons_lib.optim import SGD, Adam, RMSprop
from lessons_lib.runner import Trajectory, replay as replay_gradients, run
from lessons_lib.surfaces import SURFACES, get_surface

# --- replaying a gradient sequence ---------------------------------------------------------------


def replay(step: object, grads: object, state: object = None, **hyper: float) -> np.ndarray:
    """The steps Δθ_t = θ_t − θ_{t−1} that ``step`` takes on the gradients ``grads``, one per step, from θ = 0.

    ``step`` is either a rule of ``lessons_lib.optim`` (its ``init`` makes the
    state; no ``state`` or ``hyper`` then), or a step function written in a
    notebook, ``step(theta, g, state, **hyper) -> (theta, state)``, with its
    starting ``state``. ``grads`` has shape (T,) for one parameter or (T, n);
    the result has shape (T, n). This is ``lessons_lib.runner.replay(...).steps``.
    """
    rule = step if state is None else StepFunction(step, state, hyper)
    return replay_gradients(rule, grads).steps


class StepFunction:
    """A step function written in a notebook, with its starting state and hyperparameters, as a rule."""

    def __init__(self, step: object, state: object, hyper: dict) -> None:
        self.function, self.state, self.hyper = step, state, hyper

    def init(self, theta: np.ndarray) -> object:
        return self.state

    def step(self, theta: np.ndarray, g: np.ndarray, state: object) -> tuple[np.ndarray, object]:
        return self.function(theta, g, state, **self.hyper)


# --- figures -------------------------------------------------------------------------------------


def step_length_figure(curves: Mapping[str, object], title: str = "", ylabel: str = "|Δθ| / η",
                       logy: bool = False, reference: float | None = 1.0, legend_loc: str = "upper right") -> Figure:
    """Step lengths against the step number t (log axis), one curve per ``label: values``.

    ``values`` are the lengths of steps 1, 2, … in units of η. Up to four curves
    get solid lines, further ones dashed. ``reference`` draws a thin grey line at
    that height (1: a step of exactly η); None draws none. ``legend_loc`` is a
    matplotlib legend location (a fixed one: "best" would scan every point, slowly).
    """
    fig, ax = plt.subplots(figsize=(WIDTH, 4.0), layout="constrained")
    for index, (label, values) in enumerate(curves.items()):
        values = np.ravel(values)
        style = "-" if index < 4 else "--"
        ax.plot(np.arange(1, len(values) + 1), values, color=COLORS[index % len(COLORS)], linestyle=style,
                linewidth=1.8, label=label)
    if reference is not None:
        ax.axhline(reference, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc=legend_loc)
    major_ticks_only(ax)
    ax.grid(True, which="major", alpha=0.3)
    return fig


def step_bound_figure(trajectory: Trajectory, lr: float) -> Figure:
    """Left: |g| per coordinate along a run, log scale. Right: the step per coordinate in units of η.

    ``trajectory`` is a run of one 2-D point (``runner.run`` on a surface) and
    ``lr`` the η it was run with.
    """
    t = np.arange(1, trajectory.steps_run + 1)
    steps = np.abs(trajectory.steps) / lr
    grads = np.maximum(np.abs(trajectory.grads), 1e-300)  # log axis: an exact 0 cannot be drawn

    fig, (ax_g, ax_s) = plt.subplots(1, 2, figsize=(WIDTH, 4.0), layout="constrained")
    for k, (name, color) in enumerate(zip("xy", COLORS)):
        ax_g.semilogy(t, grads[:, k], color=color, linewidth=1.2, label=f"|g_{name}|")
        ax_s.plot(t, steps[:, k], color=color, linewidth=1.2, label=f"|Δ{name}| / η")
    ax_s.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
    ax_g.set_title("the gradient, per coordinate")
    ax_s.set_title("Adam's step, per coordinate,\nin units of η")
    for ax in (ax_g, ax_s):
        ax.set_xlabel("step t")
        ax.legend(loc="upper right")
        ax.grid(True, which="major", alpha=0.3)
    major_ticks_only(ax_g)
    ax_s.set_ylim(0, max(1.25, 1.05 * steps.max()))
    return fig


# --- cautious and bold: signal to noise -----------------------------------------------------------


def noisy_and_steady_gradients(steps: int, noise: float, steady: float, mean: float = 1.0,
                               seed: int = 0) -> np.ndarray:
    """Gradients for two parameters, shape (steps, 2).

    Column 0, parameter a: ``mean + noise · ξ_t`` with ξ_t standard normal from
    ``np.random.default_rng(seed)`` (the same ξ for every ``noise``, so changing
    the noise rescales one sequence). Column 1, parameter b: ``steady`` at every step.
    """
    xi = np.random.default_rng(seed).standard_normal(steps)
    return np.column_stack([mean + noise * xi, np.full(steps, steady)])


def mean_over_rms(grads: object) -> np.ndarray:
    """mean(g) / √mean(g²) per column: Adam's predicted drift per step, in units of η.

    Between −1 and 1: ±1 for a steady gradient, near 0 when the noise swamps the mean.
    """
    grads = np.asarray(grads, dtype=float)
    return grads.mean(axis=0) / np.sqrt(np.mean(grads**2, axis=0))


class SignalToNoise:
    """Two parameters side by side, under SGD (left) and Adam (right), as a live figure.

    Parameter a gets large, noisy gradients, mean 1 plus noise of standard
    deviation σ (slider); parameter b gets a small steady gradient (log slider).
    Both panels show the distance each parameter moved, in units of the rule's η,
    and dashed, the distance its predicted drift gives: SGD moves by η·mean(g) per
    step, Adam by η·mean(g)/√mean(g²).
    """

    NOISE_MAX = 10.0
    STEADY_RANGE = (1e-4, 1.0)

    def __init__(self, noise: float = 5.0, steady: float = 0.01, steps: int = 500, seed: int = 0) -> None:
        low, high = self.STEADY_RANGE
        self.steps, self.seed = steps, seed
        self.noise_slider = widgets.FloatSlider(value=noise, min=0.0, max=self.NOISE_MAX, step=0.1,
                                                description="noise σ of a", readout_format=".1f",
                                                style={"description_width": "initial"})
        self.steady_slider = log_slider("steady gradient of b", steady, low, high)

        figure = Figure(figsize=(WIDTH, 3.6), layout="constrained")  # short: a projector keeps its text large
        self.ax_sgd, self.ax_adam = figure.subplots(1, 2)
        self.live = LiveFigure(figure)
        t = np.arange(self.steps + 1)
        self.lines = {}
        for ax in (self.ax_sgd, self.ax_adam):
            for key, label, color in (("a", "a: large, noisy gradients", COLORS[3]),
                                      ("b", "b: small, steady gradient", COLORS[0])):
                (path,) = ax.plot(t, np.zeros_like(t, dtype=float), color=color, linewidth=1.4, label=label)
                (drift,) = ax.plot(t, np.zeros_like(t, dtype=float), color=color, linewidth=1, linestyle="--")
                self.lines[ax, key] = (path, drift)
                self.live.animate(path, drift)
            ax.set_xlim(0, self.steps)
            ax.set_xlabel("step t")
            ax.grid(True, alpha=0.3)
        self.ax_sgd.set_ylim(-0.6 * self.steps, 1.6 * self.steps)
        self.ax_adam.set_ylim(-0.3 * self.steps, 1.15 * self.steps)
        self.ax_sgd.set_ylabel("distance moved / η")
        self.ax_sgd.legend(loc="upper left")
        # the titles say how far each parameter drifts per step, in one line each
        self.titles = {self.ax_sgd: self.ax_sgd.title, self.ax_adam: self.ax_adam.title}
        for ax, name in ((self.ax_sgd, "SGD"), (self.ax_adam, "Adam")):
            ax.set_title(f"{name} (filled in by update)")
            self.live.animate(ax.title)
        self.status = widgets.HTML()
        self.panel = self.live.panel([self.noise_slider, self.steady_slider], self.update, self.status)

    def gradients(self) -> np.ndarray:
        """The gradients of a and b at the sliders' values, shape (steps, 2)."""
        return noisy_and_steady_gradients(self.steps, self.noise_slider.value, self.steady_slider.value,
                                          seed=self.seed)

    def update(self) -> None:
        """Replay both rules on the gradients and redraw the paths, the drift lines and the titles."""
        grads = self.gradients()
        t = np.arange(self.steps + 1)
        drifts = {"SGD": grads.mean(axis=0), "Adam": mean_over_rms(grads)}
        for ax, name, rule in ((self.ax_sgd, "SGD", SGD(lr=1.0)), (self.ax_adam, "Adam", Adam(lr=1.0))):
            moved = np.vstack([np.zeros(2), np.cumsum(-replay(rule, grads), axis=0)])  # η = 1: distance / η
            for k, key in enumerate("ab"):
                path, drift = self.lines[ax, key]
                path.set_ydata(moved[:, k])
                drift.set_ydata(drifts[name][k] * t)
            a, b = moved[-1] / self.steps
            ax.title.set_text(f"{name} drift per step: a {a:.3g} η, b {b:.3g} η")

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()


# --- the race --------------------------------------------------------------------------------------

#: The four runners of ``AdamRace``, in the order of the lessons.
RACE_LABELS = ("SGD", "Momentum", "RMSprop", "Adam")

#: How each runner's path is drawn on the map (line width, opacity), and the order of drawing, first
#: underneath: on Rosenbrock SGD, RMSprop and Adam follow the same curved floor, Adam the furthest, so the
#: wide, light paths go under and the thin ones on top, and every path shows.
RACE_PATH_STYLE = {"Adam": (5.0, 0.4), "RMSprop": (3.0, 0.7), "Momentum": (1.2, 1.0), "SGD": (1.4, 1.0)}


def times_eta(value: float) -> str:
    """A multiple of η with three significant digits, whatever its size: 216, 10.0, 1.00."""
    value = float(f"{value:.3g}")  # round first: 9.99999 is 10.0, not 10.00
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if value >= 10 else f"{value:.2f}"


class AdamRace:
    """SGD, Momentum (PyTorch's heavy ball), RMSprop and Adam on a chosen surface.

    Controls: the surface; a learning rate per optimizer (log sliders); momentum's β,
    RMSprop's β, and Adam's β₁ and β₂. The title above both panels gives, for each
    runner, its largest step in any one coordinate in units of its own η (a
    diverged run says so instead), with three significant digits (``times_eta``). On the map each
    path ends in a square; the wide, light paths lie under the thin ones (``RACE_PATH_STYLE``).
    """

    LR_RANGE = (1e-4, 1.0)

    def __init__(self, surface: str = "rosenbrock", lrs: Mapping[str, float] | None = None, momentum: float = 0.9,
                 rmsprop_beta: float = 0.99, beta1: float = 0.9, beta2: float = 0.999, steps: int = 300) -> None:
        first = get_surface(surface)
        lrs = {"SGD": 1e-3, "Momentum": 1e-3, "RMSprop": 0.01, "Adam": 0.05, **dict(lrs or {})}
        low, high = self.LR_RANGE
        betas = {"momentum": momentum, "rmsprop_beta": rmsprop_beta, "beta1": beta1, "beta2": beta2}
        self.steps = steps

        self.surface_menu = widgets.Dropdown(options=list(SURFACES), value=first.name, description="surface")
        self.lr_sliders = {label: log_slider(f"η {label}", lrs[label], low, high) for label in RACE_LABELS}
        self.beta_sliders = {
            name: widgets.FloatSlider(value=value, min=0.0, max=0.9999, step=0.0001, description=description,
                                      readout_format=".4g", style={"description_width": "initial"})
            for (name, value), description in zip(betas.items(), ("β Momentum", "β RMSprop", "β₁ Adam", "β₂ Adam"))
        }
        self.race = LiveRace(first, list(RACE_LABELS), self.steps)
        self._style_paths()
        # a title never hides a curve; this one spans both panels: it is too long for one. Two lines are
        # reserved now, because the layout is computed once, at the first draw.
        self.readout = self.race.live.figure.suptitle("largest step in one coordinate, in units of η:\n"
                                                      "(filled in by update)")
        self.race.live.animate(self.readout)
        self.status = widgets.HTML()

        controls = [self.surface_menu, *self.lr_sliders.values(), *self.beta_sliders.values()]
        redraw = guarded(self.update, self.race.live.refresh, self.status)
        for control in controls:
            control.observe(redraw, names="value")
        redraw()
        lr_column = widgets.VBox([self.surface_menu, *self.lr_sliders.values()])
        beta_column = widgets.VBox(list(self.beta_sliders.values()))
        columns = arrange(widgets.HBox([lr_column, beta_column]), lr_column, beta_column)  # one wrapping grid
        for slider in [*self.lr_sliders.values(), *self.beta_sliders.values()]:
            slider.layout.width = "max(215px, calc(25% - 4px))"  # three to a row on a projector, four on a laptop
        self.race.live.image.layout.max_height = picture_max_height(4)  # four rows of controls above it
        self.panel = widgets.VBox([columns, self.status, self.race.live.image])

    def _style_paths(self) -> None:
        """Widths and opacities of ``RACE_PATH_STYLE``, the wide paths drawn first, and a square at each end."""
        ax_map, live = self.race.ax_map, self.race.live
        paths = dict(zip(RACE_LABELS, self.race.paths))
        for label, (width, alpha) in RACE_PATH_STYLE.items():
            paths[label].set_linewidth(width)
            paths[label].set_alpha(alpha)
            paths[label].set_solid_joinstyle("round")
        # the live figure draws its moving artists in list order: the wide paths go first, underneath
        live.animated[:] = [paths[label] for label in RACE_PATH_STYLE] + [
            artist for artist in live.animated if artist not in paths.values()]
        self.ends = {label: ax_map.plot([], [], marker="s", markersize=6, markeredgecolor="black",
                                        color=paths[label].get_color(), linestyle="none")[0]
                     for label in RACE_LABELS}
        live.animate(*self.ends.values())
        self._legend_placed = None

    def _place_legend(self) -> None:
        """The loss panel's legend at the lower left, where the curves, which start at the top left, rarely go."""
        legend = self.race.ax_loss.get_legend()
        if legend is not None and legend is not self._legend_placed:
            legend.set_loc("lower left")
            self._legend_placed = legend
            self.race.live.redraw_background()

    def largest_steps(self, trajectories: list[Trajectory] | None = None) -> dict[str, float]:
        """Each runner's largest step in any one coordinate, in units of its own η (inf for a diverged run)."""
        rules = self.rules()
        trajectories = trajectories or self.trajectories(rules)
        return {rule.name: np.inf if trajectory.diverged else float(np.abs(trajectory.steps).max() / rule.lr)
                for rule, trajectory in zip(rules, trajectories)}

    def rules(self) -> list[SGD | RMSprop | Adam]:
        """The four rules at the controls' values."""
        lr = {label: slider.value for label, slider in self.lr_sliders.items()}
        beta = {name: slider.value for name, slider in self.beta_sliders.items()}
        return [SGD(lr=lr["SGD"], name="SGD"),
                SGD(lr=lr["Momentum"], momentum=beta["momentum"], name="Momentum"),
                RMSprop(lr=lr["RMSprop"], beta=beta["rmsprop_beta"]),
                Adam(lr=lr["Adam"], beta1=beta["beta1"], beta2=beta["beta2"])]

    def trajectories(self, rules: list[SGD | RMSprop | Adam] | None = None) -> list[Trajectory]:
        """Run the four rules (default: at the controls' values) from the surface's start."""
        surface = get_surface(self.surface_menu.value)
        return [run(rule, surface, surface.start, self.steps) for rule in (rules or self.rules())]

    def update(self) -> None:
        """Re-run, redraw (a new contour map only when the surface changed), and fill in the readout."""
        surface = get_surface(self.surface_menu.value)
        if surface is not self.race.surface:
            self.race.set_surface(surface, self.steps)
        rules = self.rules()
        trajectories = self.trajectories(rules)
        self.race.show(trajectories)
        self._place_legend()
        for label, trajectory in zip(RACE_LABELS, trajectories):
            finite = trajectory.positions[np.isfinite(trajectory.positions).all(axis=1)]
            self.ends[label].set_data(finite[-1:, 0], finite[-1:, 1])
        parts = [f"{name} diverges" if np.isinf(largest) else f"{name} {times_eta(largest)}"
                 for name, largest in self.largest_steps(trajectories).items()]
        self.readout.set_text("largest step in one coordinate, in units of its own η:\n" + " · ".join(parts))

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.race.live.snapshot()
