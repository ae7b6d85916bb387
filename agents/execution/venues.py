"""Trading venues, SIMULATED: the data have none, so a venue file (YAML or CSV the user can
edit; ``venues.yaml`` ships as the default) gives each venue its fee or rebate, fill
probability, latency and hidden liquidity. A bad file stops with the file, the venue and the
field that failed, before anything routes."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VENUES = Path(__file__).with_name("venues.yaml")
FIELDS = ("name", "fee_bp", "fill_probability", "latency_ms", "hidden_liquidity")


class VenueFileError(ValueError):
    def __init__(self, path: Path, venue: str, field: str, message: str) -> None:
        super().__init__(f"{path}: venue {venue!r}, field {field!r}: {message}")
        self.path, self.venue, self.field = path, venue, field


@dataclass(frozen=True)
class Venue:
    name: str
    fee_bp: float  # negative: a rebate
    fill_probability: float
    latency_ms: float
    hidden_liquidity: float


def load_venues(path: str | Path = DEFAULT_VENUES) -> list[Venue]:
    """The venues of a YAML or CSV file; "simulated" names the shipped file."""
    path = DEFAULT_VENUES if str(path) == "simulated" else Path(path)
    if not path.exists():
        raise VenueFileError(path, "-", "-", "file not found")
    rows = _rows(path)
    if not rows:
        raise VenueFileError(path, "-", "venues", "no venue in the file")
    venues = [_venue(path, i, row) for i, row in enumerate(rows, start=1)]
    names = [v.name for v in venues]
    for name in names:
        if names.count(name) > 1:
            raise VenueFileError(path, name, "name", "named twice")
    return venues


def _rows(path: Path) -> list[dict]:
    if path.suffix.lower() == ".csv":
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    import yaml

    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise VenueFileError(path, "-", "-", f"not valid YAML: {error}") from error
    rows = document.get("venues") if isinstance(document, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise VenueFileError(path, "-", "venues", "expected a list of venues under 'venues'")
    return rows


def _venue(path: Path, position: int, row: dict) -> Venue:
    name = str(row.get("name") or "").strip()
    venue = name or f"#{position}"
    if not name:
        raise VenueFileError(path, venue, "name", "missing")
    values = {}
    for field in FIELDS[1:]:
        raw = row.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise VenueFileError(path, venue, field, "missing")
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise VenueFileError(path, venue, field, f"not a number: {raw!r}") from None
        if not math.isfinite(value):
            raise VenueFileError(path, venue, field, f"not a finite number: {raw!r}")
        values[field] = value
    if not 0.0 <= values["fill_probability"] <= 1.0:
        raise VenueFileError(path, venue, "fill_probability",
                             f"{values['fill_probability']} is outside [0, 1]")  # fmt: skip
    for field in ("latency_ms", "hidden_liquidity"):
        if values[field] < 0:
            raise VenueFileError(path, venue, field, f"{values[field]} is negative")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise VenueFileError(path, venue, unknown[0], "not a venue field")
    return Venue(name=name, **values)
