"""A rich progress bar that reports images per second."""
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class ImagesPerSecondColumn(ProgressColumn):
    """Throughput of a progress task in images per second."""

    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text('- images/s' if speed is None else f'{speed:.2f} images/s')


def images_progress(disable: bool = False) -> Progress:
    """``description [bar] done/total  N images/s  elapsed  ETA remaining`` on stderr."""
    return Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(),
                    ImagesPerSecondColumn(), TimeElapsedColumn(), TextColumn('ETA'),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=disable)
