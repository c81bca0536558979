"""Many texts scanned as one: the gap between them and the map back to each text.

The rule layer's batch path joins the texts of many traces (or many messages) with
:data:`GAP` and runs each detector's scan once over the whole batch, so the per-call
cost of a dozen detectors is paid once per batch rather than once per text. Results
must be exactly those of scanning each text alone. Two things make them so:

- **The gap.** No detector pattern matches a NUL character, and every look-around of
  a detector (a context window, the words before a number, the lines after an address,
  the local part before an ``@``) is shorter than the gap, which starts and ends with a
  newline and holds no word character: seen from a text, the gap looks exactly like the
  start or the end of the string. :data:`GAP_REACH` records the longest look-around the
  gap covers; a detector that looks further must clamp its window with
  :meth:`Segments.bounds`.
- **Per-text conditions.** A few decisions are made over a whole text, not a window:
  "the text holds a digit" (MAC and IPv6 anchors), "a birth word occurs" (dates of
  birth outside ISO form), "an address is possible" and "a lower-case street word
  occurs" (addresses), and a private-key block runs to its END line anywhere in the
  text. Detectors ask :class:`Segments` for the text around a position and decide
  those per text.
"""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["GAP", "GAP_REACH", "Segments"]

GAP_REACH = 120
"""The longest look-around (in characters) any detector takes without clamping."""

GAP = "\n" + "\x00\n" * 64
"""What joins the texts of a batch: 129 characters, 65 lines of one NUL each."""

assert len(GAP) > GAP_REACH


class Segments:
    """Where each text of a batch lies in the joined string.

    Args:
        texts: The texts, in order; the batch is ``GAP.join(texts)``.
    """

    __slots__ = ("ends", "starts")

    def __init__(self, texts: list[str]) -> None:
        starts: list[int] = []
        ends: list[int] = []
        offset = 0
        step = len(GAP)
        for text in texts:
            starts.append(offset)
            offset += len(text)
            ends.append(offset)
            offset += step
        self.starts = starts
        self.ends = ends

    def index(self, pos: int) -> int:
        """The index of the text that holds (or, in a gap, precedes) offset ``pos``."""
        return bisect_right(self.starts, pos) - 1

    def bounds(self, pos: int) -> tuple[int, int]:
        """``(start, end)`` of the text holding offset ``pos``."""
        i = bisect_right(self.starts, pos) - 1
        return self.starts[i], self.ends[i]
