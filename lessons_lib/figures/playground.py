"""The playground: race every optimizer of the course on any surface, with every knob on a control.

::

    from lessons_lib.figures.playground import Playground
    playground = Playground()
    display(playground.panel)        # live controls and figure
    display(playground.snapshot())   # the same figure as a static picture

Above, the surface, the number of steps, the start point and the gradient
noise σ (with its seed), then the figure. Below, one tab per family of optimizers: tick a
racer to enter it, and its controls unfold: its hyperparameters on sliders,
its switches (bias correction, weight decay and its kind) where the rule has
them. Any change re-runs the racers and redraws the figure in place.

Gradient noise: every racer's gradient at step t is ∇L(θ) + σ ξ_t, with
ξ_1, ξ_2, … standard normal, drawn once from the seed: every racer gets the
same noise, so the race stays fair, and the same seed gives the same race.
σ = 0 runs on the surface itself.

Two racers are drawn specially. Schedule-Free AdamW is drawn at x, the
average it evaluates (its gradients are taken at y = θ). Muon is a rule for
matrices: here θ = (x, y) is taken as the 1 × 2 matrix [x y] (``OneRowMatrix``);
orthogonalising a 1 × 2 matrix gives U Vᵀ = g / ‖g‖, so Muon becomes
normalised momentum descent, each step of one length: η times
``MUON_STEP_ON_A_ROW`` (Newton–Schulz's five steps land at 0.696, not at 1).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import ipywidgets as widgets
import numpy as np
from ipywidgets.widgets.widget_bool import CheckboxStyle
from ipywidgets.widgets.widget_string import HTMLStyle

from lessons_lib.checks import check_flag, check_number
from lessons_lib.figures.live import arrange, guarded, log_slider, picture_max_height
from lessons_lib.figures.race import LiveRace
from lessons_lib.optim import (ADOPT, SGD, AdaBelief, Adafactor, AdaGrad, Adam, Adamax, AdamW, AdamWScheduleFree,
                               AMSGrad, Cautious, EMAMomentum, Lion, Lookahead, Muon, NAdam, RAdam, RMSprop,
                               newton_schulz)
from lessons_lib.runner import Trajectory, run
from lessons_lib.surfaces import SURFACES, Surface, get_surface

HIDDEN, SHOWN = "none", ""  # a control's layout.display: folded away, or shown
TAB_PAGE_HEIGHT = "96px"  # three rows of sliders: a tab's page scrolls beyond them


@dataclass(frozen=True)
class Knob:
    """One hyperparameter on a slider: its argument name, label, default and range (log scale if ``log``,
    whole numbers if ``whole``)."""

    name: str
    label: str
    value: float
    low: float
    high: float
    log: bool = True
    whole: bool = False

    def slider(self, **look: object) -> widgets.Widget:
        """The slider; ``look``: a ``layout`` and a ``style`` shared with other controls (by default, its own)."""
        look.setdefault("style", {"description_width": "initial"})
        if self.whole:
            return widgets.IntSlider(value=self.value, min=self.low, max=self.high, description=self.label, **look)
        if self.log:
            return log_slider(self.label, self.value, self.low, self.high, **look)
        return widgets.FloatSlider(value=self.value, min=self.low, max=self.high, step=0.001,
                                   description=self.label, readout_format=".3f", **look)


@dataclass(frozen=True)
class Switch:
    """One True/False hyperparameter on a checkbox: its argument name, label and default."""

    name: str
    label: str
    value: bool

    def checkbox(self, value: bool | None = None, **look: object) -> widgets.Checkbox:
        """The checkbox (at ``value``, else the default); ``look``: a shared ``layout`` and ``style``."""
        look.setdefault("layout", widgets.Layout(width="auto"))
        return widgets.Checkbox(value=self.value if value is None else value, description=self.label, indent=False,
                                **look)


#: The on/off switch of a rule's weight decay (off: λ = 0; on: the λ slider, and its kind where the rule has a choice).
DECAY_SWITCH = Switch("weight_decay", "weight decay", False)


@dataclass(frozen=True)
class Racer:
    """An optimizer of the playground: how to build it from its controls' values.

    ``make(**values)`` gets every knob's and switch's value by name, and
    ``weight_decay`` (λ, or 0 while the weight-decay switch is off) if the rule
    has a ``decay`` knob. ``group`` is its tab; ``legend`` its name in the
    figure (default: ``label``); ``note`` a line on its card; ``drawn_at``, for
    a rule that evaluates another point than θ, that point from its state.
    """

    label: str
    make: Callable[..., object]
    knobs: tuple[Knob, ...]
    racing: bool = False
    switches: tuple[Switch, ...] = ()
    decay: Knob | None = None
    decay_on: bool = False
    group: str = "optimizers"
    legend: str = ""
    note: str = ""
    drawn_at: Callable[[Any], np.ndarray] | None = None


@dataclass(frozen=True)
class OneRowMatrix:
    """A rule for matrices (Muon) on a surface's θ = (x, y), taken as the 1 × 2 matrix [x y].

    U Vᵀ of a 1 × 2 matrix g is g / ‖g‖: on it, Muon is normalised momentum
    descent. The figures' adapter, not a rule of the course: the rule inside
    is ``inner``, unchanged.
    """

    inner: Any

    @property
    def name(self) -> str:
        return self.inner.name

    def init(self, theta: np.ndarray) -> Any:
        return self.inner.init(theta.reshape(1, -1))

    def step(self, theta: np.ndarray, grad: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        new_theta, state = self.inner.step(np.reshape(theta, (1, -1)), np.reshape(grad, (1, -1)), state)
        return new_theta.reshape(np.shape(theta)), state

    def update(self, theta: np.ndarray, grad: np.ndarray, state: Any) -> tuple[np.ndarray, Any]:
        new_theta, state = self.inner.update(theta.reshape(1, -1), grad.reshape(1, -1), state)
        return new_theta.reshape(theta.shape), state


#: The length of every Muon step on a 1 × 2 matrix, in units of η: Newton–Schulz's image of a unit vector.
MUON_STEP_ON_A_ROW = float(np.linalg.norm(newton_schulz(np.array([[1.0, 0.0]]))))


def _lr(value: float) -> Knob:
    return Knob("lr", "learning rate η", value, 1e-5, 3.0)


BETA = Knob("momentum", "momentum β", 0.9, 0.0, 0.999, log=False)
BETA1 = Knob("beta1", "β₁", 0.9, 0.0, 0.999, log=False)
BETA2 = Knob("beta2", "β₂", 0.999, 0.0, 0.9999, log=False)
EPS = Knob("eps", "ε", 1e-8, 1e-12, 1.0)
ADAM_KNOBS = (BETA1, BETA2, EPS)

#: The switches the playground offers wherever a rule has the argument, with their labels.
SWITCH_LABELS = {"bias_correction": "bias correction", "decoupled_weight_decay": "decoupled (AdamW's kind)",
                 "nesterov": "Nesterov", "centered": "centered", "clip": "clip"}


def rule_racer(label: str, rule: type, knobs: tuple[Knob, ...], *, make: Callable[..., object] | None = None,
               switches: tuple[str, ...] = (), **options: Any) -> Racer:
    """A racer for ``rule`` (a class of ``lessons_lib.optim``), with the switches its fields have.

    Read from the class, so that no rule's switch can be forgotten: ``bias_correction``
    and ``decoupled_weight_decay`` if they are its arguments, and the weight decay λ
    (a slider and an on/off switch, on if the rule's default λ is above 0) if
    ``weight_decay`` is; ``switches`` names more. ``make`` defaults to ``rule(name=label, **values)``.
    """
    arguments = {field.name: field.default for field in fields(rule) if field.init}
    names = [name for name in ("bias_correction", "decoupled_weight_decay") if name in arguments] + list(switches)
    decay = None
    if "weight_decay" in arguments:
        default = arguments["weight_decay"]
        decay = Knob("weight_decay", "weight decay λ", default if default > 0 else 0.01, 1e-5, 1.0)
        options.setdefault("decay_on", default > 0)
    return Racer(label=label, make=make or (lambda **values: rule(name=label, **values)), knobs=knobs,
                 switches=tuple(Switch(name, SWITCH_LABELS[name], arguments[name]) for name in names),
                 decay=decay, **options)


def _lookahead(**values: Any) -> Lookahead:
    k, alpha = values.pop("k"), values.pop("alpha")
    return Lookahead(Adam(**values), k=k, alpha=alpha, name="Lookahead(Adam)")


GROUPS = ("SGD, momentum", "AdaGrad/RMSprop", "Adam, AdamW", "beyond Adam", "lesson 11")

#: Every optimizer of the course, in the order of the lessons, with defaults that behave on most surfaces.
RACERS = (
    rule_racer("SGD", SGD, (_lr(0.01),), racing=True, group=GROUPS[0]),
    rule_racer("Momentum", SGD, (_lr(0.005), BETA), racing=True, group=GROUPS[0]),
    rule_racer("Nesterov", SGD, (_lr(0.005), BETA), group=GROUPS[0],
               make=lambda **values: SGD(nesterov=True, name="Nesterov", **values)),
    rule_racer("EMA momentum", EMAMomentum, (_lr(0.05), Knob("beta", "β", 0.9, 0.0, 0.999, log=False)),
               group=GROUPS[0], note="momentum as an average: PyTorch's momentum with η (1 − β)"),
    rule_racer("AdaGrad", AdaGrad, (_lr(0.5), Knob("eps", "ε", 1e-10, 1e-12, 1.0)), group=GROUPS[1]),
    rule_racer("RMSprop", RMSprop, (_lr(0.01), Knob("beta", "β", 0.99, 0.0, 0.9999, log=False), EPS),
               switches=("centered",), group=GROUPS[1]),
    rule_racer("Adam", Adam, (_lr(0.05), *ADAM_KNOBS), racing=True, group=GROUPS[2]),
    rule_racer("AdamW", AdamW, (_lr(0.05), *ADAM_KNOBS), group=GROUPS[2]),
    rule_racer("AMSGrad", AMSGrad, (_lr(0.05), *ADAM_KNOBS), group=GROUPS[3]),
    rule_racer("NAdam", NAdam, (_lr(0.05), *ADAM_KNOBS, Knob("momentum_decay", "momentum decay ψ", 4e-3, 1e-4, 0.1)),
               group=GROUPS[3]),
    rule_racer("RAdam", RAdam, (_lr(0.05), *ADAM_KNOBS), group=GROUPS[3],
               note="plain momentum steps until the variance of v̂ can be trusted (ρ_t > 5)"),
    rule_racer("Adamax", Adamax, (_lr(0.05), *ADAM_KNOBS), group=GROUPS[3]),
    rule_racer("AdaBelief", AdaBelief, (_lr(0.05), BETA1, BETA2, Knob("eps", "ε", 1e-16, 1e-20, 1e-4)),
               group=GROUPS[3]),
    rule_racer("Lion", Lion, (_lr(0.03), BETA1, Knob("beta2", "β₂", 0.99, 0.0, 0.9999, log=False)), group=GROUPS[3],
               note="every coordinate moves by ±η; the decay is always decoupled"),
    rule_racer("Lookahead", Adam, (_lr(0.05), *ADAM_KNOBS, Knob("k", "k (fast steps)", 5, 1, 20, whole=True),
                                   Knob("alpha", "α (slow step)", 0.5, 0.0, 1.0, log=False)),
               make=_lookahead, group=GROUPS[3], legend="Lookahead(Adam)",
               note="around Adam; drawn: the fast weights θ, which jump back every k steps"),
    rule_racer("Adafactor", Adafactor, (_lr(0.1), Knob("beta2_decay", "τ (β̂ = 1 − t^τ)", -0.8, -1.0, 0.0, log=False),
                                        Knob("eps2", "ε₂", 1e-3, 1e-6, 1.0),
                                        Knob("d", "clip d", 1.0, 1.0, 10.0, log=False)),
               group=GROUPS[4], note="on a vector, unfactored: v is a plain average of g²; "
                                     "steps of η · max(ε₂, RMS(θ)), ρ = min(η, 1/√t)"),
    rule_racer("Schedule-Free AdamW", AdamWScheduleFree,
               (_lr(0.05), BETA1, BETA2, EPS, Knob("warmup_steps", "warm-up steps", 0, 0, 100, whole=True)),
               group=GROUPS[4], legend="Schedule-Free AdamW, at x", drawn_at=lambda state: state.x,
               note="drawn at x, the average it evaluates; its gradients are taken at y"),
    rule_racer("ADOPT", ADOPT, (_lr(0.05), BETA1, Knob("beta2", "β₂", 0.9999, 0.0, 0.99999, log=False),
                                Knob("eps", "ε", 1e-6, 1e-12, 1.0)),
               switches=("clip",), group=GROUPS[4], note="does not move on step 1 (it only measures v)"),
    rule_racer("Cautious Adam", Adam, (_lr(0.05), *ADAM_KNOBS), group=GROUPS[4],
               make=lambda **values: Cautious(Adam(**values), name="Cautious Adam"),
               note="Adam's step, keeping the coordinates that agree in sign with g"),
    rule_racer("Muon", Muon, (_lr(0.05), Knob("momentum", "momentum μ", 0.95, 0.0, 0.999, log=False),
                              Knob("ns_steps", "Newton–Schulz steps", 5, 0, 10, whole=True)),
               switches=("nesterov",), group=GROUPS[4], decay_on=False, legend="Muon, θ as a 1×2 matrix",
               make=lambda **values: OneRowMatrix(Muon(**values)),
               note=f"θ = (x, y) taken as the 1×2 matrix [x y]: orthogonalising it gives UVᵀ = g/‖g‖, so Muon is "
                    f"normalised momentum descent; each step is {MUON_STEP_ON_A_ROW:.3f} η long "
                    "(Newton–Schulz's band around 1, not 1 itself)"),
)

#: The rules of lessons_lib.optim that do not race, and why (shown under the last tab).
NOT_RACED = {
    "PerMatrix": "a rule matrix by matrix on a network's flat θ; a surface's θ holds no matrix "
                 "(PerMatrix would be its vector rule alone, racing above)",
    "MuonWithAdamW": "a PerMatrix: Muon for a network's matrices, AdamW for the rest; "
                     "Muon races above on θ as a 1×2 matrix, AdamW too",
}


class NoisyGradient:
    """The gradient a racer sees: ∇L(θ_{t−1}) + σ ξ_t at step t, with ``noise`` holding σ ξ_1, σ ξ_2, …

    One object per run: it counts the calls (the runner takes one gradient a step).
    """

    def __init__(self, surface: Surface, noise: np.ndarray) -> None:
        self.surface, self.noise, self.calls = surface, noise, 0

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        g = self.surface.grad_unchecked(theta) + self.noise[self.calls]
        self.calls += 1
        return g


def gradient_noise(sigma: float, seed: int, steps: int) -> np.ndarray | None:
    """σ ξ_t for t = 1 … steps, shape (steps, 2), ξ standard normal from ``seed``; None when σ = 0.

    The first n rows do not depend on ``steps``: more steps extend the same sequence.
    """
    if sigma == 0:
        return None
    return sigma * np.random.default_rng(seed).standard_normal((steps, 2))


def drawn_at(path: Trajectory, point: Callable[[Any], np.ndarray], surface: Surface) -> Trajectory:
    """``path`` (run with ``record_state=True``) with the positions and losses of the point each state names."""
    positions = np.stack([path.positions[0], *(point(state) for state in path.states)])
    return replace(path, positions=positions, losses=surface.loss_unchecked(positions), states=None)


def slider_range(slider: widgets.Widget) -> tuple[float, float]:
    """The values a slider can take (a log slider's ``min`` and ``max`` are powers of 10)."""
    if isinstance(slider, widgets.FloatLogSlider):
        return 10.0**slider.min, 10.0**slider.max
    return slider.min, slider.max


def fold(control: widgets.Widget, shown: bool) -> None:
    """Show ``control``, or fold it away (hidden, not greyed out) when it does not apply."""
    control.layout.display = SHOWN if shown else HIDDEN


class Playground:
    """Controls and a live race figure for the optimizers in ``racers`` on the surfaces of ``SURFACES``.

    Per racer i: ``racing[i]`` (its checkbox), ``knobs[i]`` (its sliders, in
    the order of ``racers[i].knobs``), ``switches[i]`` (checkboxes by argument
    name), ``decay[i]`` and ``decay_on[i]`` (the λ slider and its switch, or
    None), ``cards[i]`` (the box of its controls, folded while it does not race).
    """

    def __init__(self, surface: str = "himmelblau", steps: int = 200, racers: Sequence[Racer] = RACERS,
                 noise: float = 0.0, seed: int = 0) -> None:
        first = get_surface(surface)
        self.racers = list(racers)
        self.surface = widgets.Dropdown(options=sorted(SURFACES), value=first.name, description="surface")
        self.steps = widgets.IntSlider(value=steps, min=10, max=1000, step=10, description="steps")
        self.start_x = widgets.FloatSlider(description="start x", readout_format=".2f")
        self.start_y = widgets.FloatSlider(description="start y", readout_format=".2f")
        self._place_start_sliders(first)
        self.noise = widgets.FloatSlider(value=0.0, min=0.0, max=10.0, step=0.05, description="gradient noise σ",
                                         readout_format=".2f", style={"description_width": "initial"})
        self.seed = widgets.IntSlider(value=0, min=0, max=99, description="noise seed",
                                      style={"description_width": "initial"})
        self.noise.value, self.seed.value = _check_noise(noise, seed, self.noise, self.seed)
        # Controls that never fold share a layout and a style: a playground has hundreds of controls, and each
        # layout or style of its own would be one more widget model, stored in every notebook that shows one.
        auto, plain = widgets.Layout(width="auto"), widgets.Layout()
        tick, slide = CheckboxStyle(), widgets.SliderStyle(description_width="initial")
        self.racing = [widgets.Checkbox(value=racer.racing, description=f"race {racer.label}", indent=False,
                                        layout=auto, style=tick) for racer in self.racers]
        self.knobs = [[knob.slider(layout=plain, style=slide) for knob in racer.knobs] for racer in self.racers]
        self.switches = [{switch.name: switch.checkbox(**({"style": tick} if switch.name == "decoupled_weight_decay"
                                                          else {"layout": auto, "style": tick}))  # it folds
                          for switch in racer.switches} for racer in self.racers]
        self.decay_on = [None if racer.decay is None else DECAY_SWITCH.checkbox(racer.decay_on, layout=auto, style=tick)
                         for racer in self.racers]  # off: λ = 0
        self.decay = [None if racer.decay is None else racer.decay.slider(style=slide) for racer in self.racers]
        self._look = {"title": widgets.Layout(max_width="340px"), "html": HTMLStyle(),
                      "wrap": widgets.Layout(flex_flow="row wrap", align_items="flex-start")}
        self.cards = [self._card(index) for index in range(len(self.racers))]
        self.status = widgets.HTML()
        self.race = LiveRace(first, [racer.legend or racer.label for racer in self.racers], steps, colors_by_order=True)

        groups = list(dict.fromkeys(racer.group for racer in self.racers))
        pages = []
        for group in groups:
            members = [index for index, racer in enumerate(self.racers) if racer.group == group]
            wrap = self._look["wrap"]
            page = [widgets.HBox([self.racing[i] for i in members], layout=wrap),
                    widgets.HBox([self.cards[i] for i in members], layout=wrap)]
            if group == groups[-1] and racers is RACERS:
                page.append(widgets.HTML("<div style='font-size: smaller; line-height: 1.3'>Not raced: " + "; ".join(
                    f"<b>{name}</b>, {html.escape(reason)}" for name, reason in NOT_RACED.items()) + ".</div>"))
            pages.append(widgets.VBox(page, layout=widgets.Layout(max_height=TAB_PAGE_HEIGHT, overflow="auto")))
        # On the page, the picture comes before the tabs (CSS order), close to the rows above and the tab's sliders.
        # A tab's page scrolls within three rows, and the picture leaves room for them and the tab bar: whichever
        # slider has focus, the picture stays on screen (853 × 480 CSS pixels: a projector at 150 %).
        tabs = widgets.Tab(children=pages, titles=groups, layout=widgets.Layout(order="1"))
        self.race.live.image.layout.max_height = picture_max_height(4)
        start = widgets.VBox([self.surface, self.steps]), widgets.VBox([self.start_x, self.start_y])
        top_row = arrange(widgets.HBox(list(start)), *start)  # wrapping rows on a narrow column
        noise_row = arrange(widgets.HBox([self.noise, self.seed]))
        self.panel = widgets.VBox([top_row, noise_row, tabs, self.status, self.race.live.image])

        self._quiet = False  # True while the playground moves its own sliders
        self._redraw = guarded(self.update, self.race.live.refresh, self.status)
        self.surface.observe(self._on_surface_change, names="value")
        self.steps.observe(self._on_steps_change, names="value")
        controls = [self.start_x, self.start_y, self.noise, self.seed, *self.racing,
                    *(slider for sliders in self.knobs for slider in sliders),
                    *(box for boxes in self.switches for box in boxes.values()),
                    *(control for control in self.decay_on + self.decay if control is not None)]
        for control in controls:
            control.observe(self._on_change, names="value")
        self._fold()
        self._redraw()

    def _card(self, index: int) -> widgets.VBox:
        """Racer ``index``'s controls: a title (and note), its sliders, its switches, λ and its kind."""
        racer = self.racers[index]
        title = f"<b>{html.escape(racer.legend or racer.label)}</b>"
        if racer.note:
            title += f"<div style='font-size: smaller; line-height: 1.3'>{html.escape(racer.note)}</div>"
        own = self.switches[index]  # the decay's switches last: "weight decay", then its kind
        switches = [box for name, box in own.items() if name != "decoupled_weight_decay"]
        switches += [box for box in (self.decay_on[index], own.get("decoupled_weight_decay")) if box is not None]
        rows = [widgets.HTML(title, layout=self._look["title"], style=self._look["html"]), *self.knobs[index]]
        if switches:
            rows.append(widgets.HBox(switches, layout=self._look["wrap"]))
        if self.decay[index] is not None:
            rows.append(self.decay[index])
        return widgets.VBox(rows, layout=widgets.Layout(border="1px solid #ddd", padding="4px", margin="2px"))

    def _fold(self) -> None:
        """Fold away what does not apply: a racer's card while it does not race, λ and its kind while the decay
        is off, the seed while σ = 0."""
        fold(self.seed, self.noise.value > 0)
        for index, box in enumerate(self.racing):
            fold(self.cards[index], box.value)
            if self.decay_on[index] is not None:
                decaying = self.decay_on[index].value
                fold(self.decay[index], decaying)
                if "decoupled_weight_decay" in self.switches[index]:
                    fold(self.switches[index]["decoupled_weight_decay"], decaying)

    def _place_start_sliders(self, surface: Surface) -> None:
        """Give the start sliders the surface's window and put them at its default start."""
        windows = (surface.xlim, surface.ylim)
        for slider, (low, high), value in zip((self.start_x, self.start_y), windows, surface.start):
            # One message to the browser for all four changes: sent one by one, the browser's slider
            # would clamp its old value to the new range and send that back, undoing the new start.
            with slider.hold_sync():
                slider.min, slider.max = min(low, slider.min), max(high, slider.max)  # widen, move, narrow
                slider.value = value
                slider.min, slider.max = low, high
                slider.step = (high - low) / 200

    def _on_change(self, change: dict | None = None) -> None:
        if not self._quiet:
            self._fold()
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

    def configure(self, label: str, race: bool = True, **values: float | bool) -> None:
        """Set one racer's checkbox, knobs and switches from code; redraws once.

        ``configure("Adam", lr=0.3)``; ``configure("Adam", bias_correction=False)``;
        ``configure("AdamW", weight_decay=0.1, decoupled_weight_decay=False)``
        (``weight_decay=0`` turns the decay off). Every value is checked before
        any control moves: a refused call changes nothing.
        """
        labels = [racer.label for racer in self.racers]
        if not isinstance(label, str) or label not in labels:
            raise ValueError(f"label must be one of {', '.join(labels)}; got {label!r}")
        index = labels.index(label)
        race = check_flag(race, "race")
        controls = self._controls(index)
        unknown = sorted(set(values) - set(controls))
        if unknown:
            raise ValueError(f"{label} has no knob {', '.join(unknown)}; its knobs are {', '.join(controls)}")
        checked = {name: self._check_value(label, name, controls[name], value) for name, value in values.items()}
        self._quiet = True
        try:
            self.racing[index].value = race
            for name, value in checked.items():
                if name == "weight_decay":
                    self.decay_on[index].value = value > 0
                    if value > 0:
                        self.decay[index].value = value
                else:
                    controls[name].value = value
        finally:
            self._quiet = False
        self._fold()
        self._redraw()

    def race_only(self, *labels: str) -> None:
        """Race the racers ``labels`` and no others, e.g. ``race_only("Adam", "Lion")``; redraws once."""
        known = [racer.label for racer in self.racers]
        for label in labels:
            if not isinstance(label, str) or label not in known:
                raise ValueError(f"each label must be one of {', '.join(known)}; got {label!r}")
        self._quiet = True
        try:
            for racer, box in zip(self.racers, self.racing):
                box.value = racer.label in labels
        finally:
            self._quiet = False
        self._fold()
        self._redraw()

    def set_noise(self, sigma: float, seed: int | None = None) -> None:
        """Set the gradient noise σ (0: none) and, if given, its seed, from code; redraws once."""
        sigma, seed = _check_noise(sigma, self.seed.value if seed is None else seed, self.noise, self.seed)
        self._quiet = True
        try:
            self.noise.value, self.seed.value = sigma, seed
        finally:
            self._quiet = False
        self._fold()
        self._redraw()

    def _controls(self, index: int) -> dict[str, widgets.Widget]:
        """Racer ``index``'s controls by argument name (``weight_decay``: the λ slider, with its switch)."""
        controls = {knob.name: slider for knob, slider in zip(self.racers[index].knobs, self.knobs[index])}
        controls.update(self.switches[index])
        if self.decay[index] is not None:
            controls["weight_decay"] = self.decay[index]
        return controls

    @staticmethod
    def _check_value(label: str, name: str, control: widgets.Widget, value: object) -> float | bool:
        """``value`` for ``control``, or a ValueError that says what is allowed."""
        if isinstance(control, widgets.Checkbox):
            return check_flag(value, f"{label}: {name}")
        if isinstance(control, widgets.IntSlider) and not _whole(value):
            raise ValueError(f"{label}: {name} must be a whole number, got {value!r}")
        value = check_number(f"{label}: {name}", value)
        if name == "weight_decay" and value == 0:
            return 0.0  # the decay switched off
        low, high = slider_range(control)
        if not low <= value <= high:
            off = " (or 0: no weight decay)" if name == "weight_decay" else ""
            raise ValueError(f"{label}: {name} = {value:g} is outside the slider's range [{low:g}, {high:g}]{off}")
        return int(value) if isinstance(control, widgets.IntSlider) else value

    def values(self, index: int) -> dict[str, float | bool]:
        """The arguments racer ``index`` is built with: its knobs, its switches, and λ (0 while the decay is off)."""
        racer = self.racers[index]
        values = {knob.name: slider.value for knob, slider in zip(racer.knobs, self.knobs[index])}
        values.update({name: box.value for name, box in self.switches[index].items()})
        if racer.decay is not None:
            values["weight_decay"] = self.decay[index].value if self.decay_on[index].value else 0.0
        return values

    def gradient_noise(self) -> np.ndarray | None:
        """σ ξ_t for every step of the race (shape (steps, 2)), the same for every racer; None when σ = 0."""
        return gradient_noise(self.noise.value, self.seed.value, self.steps.value)

    def trajectories(self) -> list[Trajectory | None]:
        """Run every checked optimizer with its controls' values; None for the others."""
        surface, steps = self.race.surface, self.steps.value
        start = np.array([self.start_x.value, self.start_y.value])
        noise = self.gradient_noise()
        runs = []
        for index, (racer, box) in enumerate(zip(self.racers, self.racing)):
            if not box.value:
                runs.append(None)
                continue
            rule = racer.make(**self.values(index))
            record = racer.drawn_at is not None
            if noise is None:
                path = run(rule, surface, start, steps, record_state=record)
            else:
                path = run(rule, NoisyGradient(surface, noise), start, steps, loss=surface.loss_unchecked,
                           record_state=record)
            runs.append(drawn_at(path, racer.drawn_at, surface) if record else path)
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


def _check_noise(sigma: object, seed: object, noise_slider: widgets.FloatSlider,
                 seed_slider: widgets.IntSlider) -> tuple[float, int]:
    """σ and the seed, checked against their sliders' ranges."""
    sigma = check_number("noise (σ)", sigma)
    if not noise_slider.min <= sigma <= noise_slider.max:
        raise ValueError(f"noise (σ) must be in [{noise_slider.min:g}, {noise_slider.max:g}] (0: no noise), "
                         f"got {sigma:g}")
    if not _whole(seed) or not seed_slider.min <= seed <= seed_slider.max:
        raise ValueError(f"seed must be a whole number from {seed_slider.min} to {seed_slider.max}, got {seed!r}")
    return sigma, int(seed)


def _whole(value: object) -> bool:
    """True for a whole number (an int, not a bool)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
