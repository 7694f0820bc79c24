"""Live figures for ipywidgets controls: redraw in a few milliseconds, never leave a blank plot.

The pattern every interactive figure of the course follows::

    live = LiveFigure(fig)                 # a matplotlib figure, drawn once
    live.animate(line)                     # the artists that change
    def update():                          # read the controls, set the artists' data
        line.set_data(...)
    panel = live.panel([slider], update)   # the controls above the picture
    display(panel)                         # live, with a kernel
    display(live.snapshot())               # a static picture, for readers without one

Why not ``interact`` or an ``Output`` widget? Rebuilding a figure on every change
is slow (hundreds of milliseconds), and executing such notebooks headless can
stall until a timeout. Here the figure is drawn once; each change pastes the
cached background and draws only the animated artists, then sends a PNG to an
``ipywidgets.Image``.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PillowImage


class LiveFigure:
    """A matplotlib figure shown in an ``ipywidgets.Image`` and redrawn in place.

    * ``animate(*artists)``: mark the artists a control changes; everything else
      is drawn once and cached as the background;
    * ``refresh()``: redraw the animated artists over the cached background and
      show the result (call ``redraw_background()`` first if the background
      changed, e.g. new axis limits or a new contour map);
    * ``snapshot()``: the current picture as a static image to ``display``.
    """

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.canvas = FigureCanvasAgg(figure)
        width, height = figure.get_size_inches() * figure.dpi
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=f"{width:.0f}px", height="auto"))
        self.animated: list[Artist] = []
        self._background = None

    def animate(self, *artists: Artist) -> None:
        """Mark ``artists`` as the ones that change: they are left out of the cached background."""
        for artist in artists:
            artist.set_animated(True)
            self.animated.append(artist)

    def redraw_background(self) -> None:
        """Draw everything that is not animated, and cache it.

        The first call also fixes the layout (constrained layout is computed once,
        then switched off, so that later draws are fast and nothing jumps).
        """
        self.canvas.draw()
        if self.figure.get_layout_engine() is not None:
            self.figure.set_layout_engine("none")
            self.canvas.draw()
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)

    def render(self) -> None:
        """The full picture in the canvas: background, then the animated artists on top."""
        if self._background is None:
            self.redraw_background()
        self.canvas.restore_region(self._background)
        for artist in self.animated:
            if artist.get_visible():
                self.figure.draw_artist(artist)

    def png(self) -> bytes:
        """The current picture as PNG bytes (fast compression: speed matters more than size here)."""
        self.render()
        rgba = np.asarray(self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        PillowImage.fromarray(rgba[..., :3]).save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def refresh(self) -> None:
        """Show the current state of the artists in the live image."""
        self.image.value = self.png()

    def snapshot(self) -> StaticImage:
        """The current picture as a static image: ``display`` it so the notebook reads without a kernel."""
        return StaticImage(data=self.png(), format="png")

    def panel(
        self,
        controls: Sequence[widgets.Widget],
        update: Callable[[], None],
        status: widgets.HTML | None = None,
    ) -> widgets.VBox:
        """Controls above the live image, wired so that any change calls ``update()`` then ``refresh()``.

        ``update`` reads the controls' values and sets the artists' data. If it
        raises, the picture is kept and the error is shown as one line of text
        in ``status`` instead of a traceback in a log nobody sees.
        """
        status = status if status is not None else widgets.HTML()
        on_change = guarded(update, self.refresh, status)
        for control in controls:
            control.observe(on_change, names="value")
        on_change()
        return widgets.VBox([*controls, status, self.image])


def guarded(update: Callable[[], None], refresh: Callable[[], None], status: widgets.HTML) -> Callable[..., None]:
    """A callback for ``observe``: run ``update`` and ``refresh``; show any error in ``status``."""

    def on_change(change: object = None) -> None:
        status.value = ""
        try:
            update()
        except Exception as error:  # a widget callback must not die silently
            status.value = f"<b>Could not update:</b> {html.escape(f'{type(error).__name__}: {error}')}"
            return
        refresh()

    return on_change


def log_slider(description: str, value: float, low: float, high: float, **look: object) -> widgets.FloatLogSlider:
    """A slider over [low, high] on a log scale (learning rates, ε, weight decay), shown with 3 significant digits.

    ``look``: a ``layout`` and a ``style`` shared with other controls (by default, its own).
    """
    look.setdefault("style", {"description_width": "initial"})
    return widgets.FloatLogSlider(
        value=value, base=10, min=np.log10(low), max=np.log10(high), step=0.01,
        description=description, readout_format=".3g", continuous_update=True, **look,
    )
