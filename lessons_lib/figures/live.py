"""Live figures for ipywidgets controls: redraw in a few milliseconds, never leave a blank plot.

The pattern every interactive figure of the course follows::

    live = LiveFigure(fig)                 # a matplotlib figure, drawn once
    live.animate(line)                     # the artists that change
    def update():                          # read the controls, set the artists' data
        line.set_data(...)
    panel = live.panel([slider], update)   # the controls, wrapping in rows, above the picture
    display(panel)                         # live, with a kernel
    display(live.snapshot())               # a static picture, for readers without one

Why not ``interact`` or an ``Output`` widget? Rebuilding a figure on every change
is slow (hundreds of milliseconds), and executing such notebooks headless can
stall until a timeout. Here the figure is drawn once; each change pastes the
cached background and draws only the animated artists, then sends a PNG to an
``ipywidgets.Image``. The picture is drawn at ``style.LIVE_DPI``, twice the
resolution it is shown at (``style.DPI``), so it stays sharp when zoomed; its PNG
is written without filters at zlib's fastest level (``png_bytes``), which takes
half the time of Pillow's encoder at this size.

Fit on a projector (1280 × 720 at 150 %: 853 × 480 CSS pixels, 359 of them for
the notebook): the controls wrap in rows (``arrange``), and the picture scales
to the notebook's column, never beyond its natural size, and never taller than
the window less JupyterLab's bars and two rows of controls
(``PICTURE_MAX_HEIGHT``), so the picture and the control being moved are seen
together.
"""

from __future__ import annotations

import html
import struct
import zlib
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import numpy as np
from IPython.display import Image as StaticImage
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lessons_lib.figures.style import DPI, LIVE_DPI


def picture_max_height(rows: int) -> str:
    """The tallest a live picture is shown (CSS): the window less JupyterLab's bars (~121 px, measured at
    853 × 480) and ``rows`` rows of controls (32 px each) above it."""
    return f"calc(100vh - {130 + 32 * rows}px)"


#: The tallest a live picture is shown, below two rows of controls.
PICTURE_MAX_HEIGHT = picture_max_height(2)


def picture_layout(figure: Figure) -> widgets.Layout:
    """The live image's layout: as wide as the column allows, up to the figure's natural size, aspect kept.

    ``width``/``height`` auto with ``max-width``/``max-height``: the browser scales the picture
    down keeping its proportions (whatever resolution the PNG is rendered at).
    """
    width = figure.get_figwidth() * DPI
    return widgets.Layout(width="auto", height="auto", max_width=f"min(100%, {width:.0f}px)",
                          max_height=PICTURE_MAX_HEIGHT, flex="0 1 auto", align_self="flex-start")


def arrange(box: widgets.Box, *inner: widgets.Box) -> widgets.Box:
    """Lay ``box``'s children out in rows that wrap: controls side by side, then the picture, on its own row
    on a narrow column (a projector), beside the controls where the column has room for both (a laptop).

    ``inner``: boxes inside ``box`` whose children should wrap with the others, as if
    they were ``box``'s own (CSS ``display: contents``). Only layouts change: the
    widgets, their order and their values stay as they are.
    """
    box.layout.flex_flow = "row wrap"
    box.layout.align_items = "center"
    for child in inner:
        child.layout.display = "contents"
    return box


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
        figure.set_dpi(LIVE_DPI)
        self.canvas = FigureCanvasAgg(figure)
        self.image = widgets.Image(format="png", layout=picture_layout(figure))
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
        """The current picture as PNG bytes."""
        self.render()
        return png_bytes(np.asarray(self.canvas.buffer_rgba())[..., :3])

    def refresh(self) -> None:
        """Show the current state of the artists in the live image."""
        self.image.value = self.png()

    def snapshot(self) -> StaticImage:
        """The current picture as a static image: ``display`` it so the notebook reads without a kernel."""
        width = round(self.figure.get_figwidth() * DPI)  # shown at DPI, as the live picture
        return StaticImage(data=self.png(), format="png", width=width)

    def panel(
        self,
        controls: Sequence[widgets.Widget],
        update: Callable[[], None],
        status: widgets.HTML | None = None,
    ) -> widgets.VBox:
        """Controls in wrapping rows above the live image (``arrange``), wired so that any change calls
        ``update()`` then ``refresh()``.

        ``update`` reads the controls' values and sets the artists' data. If it
        raises, the picture is kept and the error is shown as one line of text
        in ``status`` instead of a traceback in a log nobody sees.
        """
        status = status if status is not None else widgets.HTML()
        on_change = guarded(update, self.refresh, status)
        for control in controls:
            control.observe(on_change, names="value")
        on_change()
        return arrange(widgets.VBox([*controls, status, self.image]))


def png_bytes(rgb: np.ndarray) -> bytes:
    """An RGB image (height × width × 3, uint8) as a PNG file: speed matters more than size here.

    A PNG is a signature and three chunks: IHDR (size, 8 bits per channel, colour type 2 = RGB),
    IDAT (the rows, each after a filter byte, 0 = none, zlib-compressed) and IEND.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    height, width, _ = rgb.shape
    rows = np.zeros((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 1:] = rgb.reshape(height, -1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + chunk(b"IEND", b""))


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
