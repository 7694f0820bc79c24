"""Figures and widgets of the learning-rate schedules (lesson 08).

* ``plot_schedules``: several schedules over the same updates, on one axes (a static figure);
* ``ScheduleShaper``: pick a schedule and shape it with controls; its curve redraws in place,
  and the title shows the ``lessons_lib.schedules`` call that makes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from lessons_lib.checks import check_flag, check_learning_rate, check_number, check_positive_int
from lessons_lib.schedules import Constant, Cosine, Exponential, Schedule, StepDecay, WarmupCosine
from lessons_lib.figures.live import LiveFigure, log_slider

#: The schedules of the shaper's menu: label shown → class.
KINDS: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step decay": StepDecay,
    "exponential": Exponential,
    "cosine": Cosine,
    "warm-up + cosine": WarmupCosine,
}

#: The tops of the shaper's linear learning-rate axis, times a power of ten.
AXIS_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


# --- several schedules on one axes -------------------------------------------------------------


def plot_schedules(
    schedules: Mapping[str, Schedule] | Sequence[Schedule],
    steps: int,
    ax: Axes | None = None,
    log_scale: bool = False,
) -> Axes:
    """Draw the learning rate of updates 0 … ``steps`` − 1 for each schedule, on one axes.

    ``schedules`` is a list (each labelled by its ``name``) or a dict label →
    schedule. Draws into ``ax``, or into a new figure; returns the axes.
    ``log_scale`` puts the learning rate on a log axis (exponential decay
    becomes a straight line; zeros drop off the bottom).
    """
    if isinstance(schedules, Mapping):
        labelled = list(schedules.items())
    elif isinstance(schedules, Sequence) and not isinstance(schedules, str):
        labelled = [(getattr(schedule, "name", type(schedule).__name__), schedule) for schedule in schedules]
    else:
        raise ValueError(f"schedules must be a list of schedules or a dict label -> schedule, got {schedules!r}")
    if not labelled:
        raise ValueError("schedules is empty; give at least one schedule")
    for label, schedule in labelled:
        if not isinstance(schedule, Schedule):
            raise ValueError(
                f"{label!r} is not a schedule from lessons_lib.schedules (got {type(schedule).__name__})"
            )
    steps = check_positive_int(steps, "steps")
    log_scale = check_flag(log_scale, "log_scale")
    if ax is not None and not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    curves = [(label, schedule.values(steps)) for label, schedule in labelled]
    top = max(float(values.max()) for _, values in curves)
    if log_scale and top == 0:
        raise ValueError("every learning rate is 0: nothing to show on a log scale")

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 3.5), layout="constrained")
    t = np.arange(steps)
    for label, values in curves:
        ax.plot(t, values, label=label)
    if log_scale:
        ax.set_yscale("log")
    elif top > 0:
        ax.set_ylim(0, top * 1.08)
    ax.set_xlim(0, steps - 1 if steps > 1 else 1)
    ax.set_xlabel("update t")
    ax.set_ylabel("learning rate η_t")
    ax.legend(fontsize=9)
    return ax


# --- the shaper ----------------------------------------------------------------------------------


def _check_range(value: float, name: str, low: float, high: float) -> None:
    """Raise unless low <= value <= high (a slider's range)."""
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g} (the slider's range), got {value:g}")


def _call_text(schedule: Schedule) -> str:
    """The call that makes ``schedule``, e.g. ``Cosine(lr=0.1, total_steps=200, min_lr=0)``."""
    fields = {
        Constant: ("lr",),
        StepDecay: ("lr", "step_size", "gamma"),
        Exponential: ("lr", "gamma"),
        Cosine: ("lr", "total_steps", "min_lr"),
        WarmupCosine: ("lr", "warmup_steps", "total_steps", "min_lr"),
    }[type(schedule)]
    arguments = ", ".join(f"{field}={getattr(schedule, field):.4g}" for field in fields)
    return f"{type(schedule).__name__}({arguments})"


class ScheduleShaper:
    """Choose a schedule and shape it: its learning rate over the updates of a run, redrawn as you move a control.

    Controls: the kind of schedule; η (the base or peak learning rate, log
    slider); the number of updates T; the warm-up steps W; the step size and γ
    of step decay; γ of exponential decay; η_min as a fraction of η (cosine
    schedules); a log scale for the learning rate. Controls that the chosen
    kind does not use are greyed out. The curve shows updates 0 … T − 1, the
    learning rates a run of T updates uses; the title shows the call to
    ``lessons_lib.schedules`` that gives them (``schedule()`` returns it).

    Display ``.panel`` (live, with a kernel) and ``.snapshot()`` (a static
    picture of the current state, for readers without one).
    """

    LR_RANGE = (1e-4, 1.0)
    STEPS_RANGE = (10, 1000)
    WARMUP_RANGE = (0, 500)
    STEP_SIZE_RANGE = (1, 500)
    GAMMA_RANGE = (0.01, 1.0)
    GAMMA_PER_STEP_RANGE = (0.9, 1.0)

    def __init__(
        self,
        kind: str = "warm-up + cosine",
        lr: float = 0.1,
        total_steps: int = 200,
        warmup_steps: int = 20,
        step_size: int = 50,
        gamma: float = 0.5,
        gamma_per_step: float = 0.98,
        min_lr_fraction: float = 0.0,
        log_scale: bool = False,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(repr(name) for name in KINDS)}; got {kind!r}")
        lr = check_learning_rate(lr)
        _check_range(lr, "lr", *self.LR_RANGE)
        total_steps = check_positive_int(total_steps, "total_steps")
        _check_range(total_steps, "total_steps", *self.STEPS_RANGE)
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, (int, np.integer)):
            raise ValueError(f"warmup_steps must be a whole number, got {warmup_steps!r}")
        warmup_steps = int(warmup_steps)
        _check_range(warmup_steps, "warmup_steps", *self.WARMUP_RANGE)
        step_size = check_positive_int(step_size, "step_size")
        _check_range(step_size, "step_size", *self.STEP_SIZE_RANGE)
        gamma = check_number("gamma", gamma)
        _check_range(gamma, "gamma", *self.GAMMA_RANGE)
        gamma_per_step = check_number("gamma_per_step", gamma_per_step)
        _check_range(gamma_per_step, "gamma_per_step", *self.GAMMA_PER_STEP_RANGE)
        min_lr_fraction = check_number("min_lr_fraction", min_lr_fraction)
        _check_range(min_lr_fraction, "min_lr_fraction", 0.0, 1.0)
        log_scale = check_flag(log_scale, "log_scale")

        style = {"description_width": "initial"}
        self.kind = widgets.Dropdown(options=list(KINDS), value=kind, description="schedule", style=style)
        self.lr = log_slider("η (base / peak)", lr, *self.LR_RANGE)
        self.total_steps = widgets.IntSlider(value=total_steps, min=self.STEPS_RANGE[0], max=self.STEPS_RANGE[1],
                                             description="updates T", style=style)
        self.warmup_steps = widgets.IntSlider(value=warmup_steps, min=self.WARMUP_RANGE[0],
                                              max=self.WARMUP_RANGE[1], description="warm-up W", style=style)
        self.step_size = widgets.IntSlider(value=step_size, min=self.STEP_SIZE_RANGE[0],
                                           max=self.STEP_SIZE_RANGE[1], description="step size", style=style)
        self.gamma = widgets.FloatSlider(value=gamma, min=self.GAMMA_RANGE[0], max=self.GAMMA_RANGE[1], step=0.01,
                                         description="γ per step size", readout_format=".2f", style=style)
        self.gamma_per_step = widgets.FloatSlider(value=gamma_per_step, min=self.GAMMA_PER_STEP_RANGE[0],
                                                  max=self.GAMMA_PER_STEP_RANGE[1], step=0.001,
                                                  description="γ per update", readout_format=".3f", style=style)
        self.min_lr_fraction = widgets.FloatSlider(value=min_lr_fraction, min=0.0, max=1.0, step=0.01,
                                                   description="η_min / η", readout_format=".2f", style=style)
        self.log_scale = widgets.Checkbox(value=log_scale, description="log scale", indent=False)
        #: the controls only some kinds use
        self.specific = [self.warmup_steps, self.step_size, self.gamma, self.gamma_per_step, self.min_lr_fraction]
        self.controls = [self.kind, self.lr, self.total_steps, *self.specific, self.log_scale]
        #: which controls each kind uses (the others are greyed out)
        self.uses = {
            "constant": (),
            "step decay": (self.step_size, self.gamma),
            "exponential": (self.gamma_per_step,),
            "cosine": (self.min_lr_fraction,),
            "warm-up + cosine": (self.warmup_steps, self.min_lr_fraction),
        }

        figure = Figure(figsize=(7.5, 3.4), dpi=72, layout="constrained")
        # Room on the sides: the layout is computed once, and a log axis's labels (10⁻⁴) are wider.
        figure.get_layout_engine().set(w_pad=0.2)
        self.ax = figure.subplots()
        (self.curve,) = self.ax.plot([], [], color="tab:blue", linewidth=2)
        self.warmup_end = self.ax.axvline(0, color="grey", linestyle=":", linewidth=1)
        self.ax.set_xlabel("update t")
        self.ax.set_ylabel("learning rate η_t")
        # The title shows the call and a few values. It gets two lines now, because the layout is
        # computed once, at the first draw, and must leave room for both.
        self.title = self.ax.set_title("the schedule\n(filled in by update)", fontsize=10)
        self.live = LiveFigure(figure)
        self.live.animate(self.curve, self.warmup_end, self.title)
        self.status = widgets.HTML()
        self.panel = self.live.panel(self.controls, self.update, self.status)

    def schedule(self) -> Schedule:
        """The schedule the controls describe (raises ValueError for impossible ones, e.g. W ≥ T)."""
        kind, lr, total = self.kind.value, self.lr.value, self.total_steps.value
        if kind == "constant":
            return Constant(lr=lr)
        if kind == "step decay":
            return StepDecay(lr=lr, step_size=self.step_size.value, gamma=self.gamma.value)
        if kind == "exponential":
            return Exponential(lr=lr, gamma=self.gamma_per_step.value)
        min_lr = self.min_lr_fraction.value * lr
        if kind == "cosine":
            return Cosine(lr=lr, total_steps=total, min_lr=min_lr)
        return WarmupCosine(lr=lr, warmup_steps=self.warmup_steps.value, total_steps=total, min_lr=min_lr)

    def update(self) -> None:
        """Compute the schedule, set the curve, and rescale the axes if they must change."""
        kind = self.kind.value
        for control in self.specific:
            control.disabled = control not in self.uses[kind]
        schedule = self.schedule()
        total = self.total_steps.value
        values = schedule.values(total)
        self.curve.set_data(np.arange(total), values)
        self.warmup_end.set_visible(kind == "warm-up + cosine")
        if kind == "warm-up + cosine":
            self.warmup_end.set_xdata([schedule.warmup_steps, schedule.warmup_steps])
        self.title.set_text(
            f"{_call_text(schedule)}\n"
            f"first update: η₀ = {values[0]:.3g} · last (t = {total - 1}): η = {values[-1]:.3g}"
        )
        self._set_axes(values, total)

    def _set_axes(self, values: np.ndarray, total: int) -> None:
        """New limits or scale only when they change (redrawing the background costs a full draw).

        The top of the learning-rate axis moves in steps (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k;
        on a log axis, whole decades), so that most moves of η only move the curve.
        """
        top = float(values.max())
        if self.log_scale.value:
            scale = "log"
            positive = values[values > 0]
            low = max(float(positive.min()), top * 1e-6) if positive.size else top * 1e-3
            ylim = (10.0 ** np.floor(np.log10(low) - 0.3), 10.0 ** np.ceil(np.log10(top) + 0.2))
        else:
            scale = "linear"
            decade = 10.0 ** np.floor(np.log10(top * 1.05))
            ylim = (0.0, decade * next(step for step in AXIS_STEPS if step * decade >= top * 1.05))
        xlim = (0.0, float(total - 1))
        if self.ax.get_yscale() == scale and self.ax.get_ylim() == ylim and self.ax.get_xlim() == xlim:
            return
        self.ax.set_yscale(scale)
        if scale == "linear":  # mantissas on the ticks, the power of ten once at the top: the labels keep their width
            self.ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        self.ax.set_ylim(*ylim)
        self.ax.set_xlim(*xlim)
        self.live.redraw_background()

    def snapshot(self) -> StaticImage:
        """The figure as it is now, as a static picture to ``display``."""
        return self.live.snapshot()
