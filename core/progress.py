"""A one-line progress bar for management commands on a terminal; silent otherwise."""


class ProgressBar:
    def __init__(self, total: int, stream, unit: str = ""):
        self.total, self.done, self.stream, self.unit = total, 0, stream, unit
        self.enabled = stream.isatty() and total > 0

    def advance(self, count: int = 1, note: str = "") -> None:
        self.done += count
        if self.enabled:
            filled = int(30 * self.done / self.total)
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (30 - filled)}] "
                f"{self.done:,}/{self.total:,}{self.unit} {note}".rstrip()
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
