"""The simulated venue file: the shipped default loads, and a bad file stops with the file,
the venue and the field that failed."""

import pytest

from agents.execution.venues import DEFAULT_VENUES, VenueFileError, load_venues

GOOD = """venues:
  - {name: A, fee_bp: 0.3, fill_probability: 0.9, latency_ms: 1, hidden_liquidity: 0}
  - {name: B, fee_bp: -0.1, fill_probability: 0.5, latency_ms: 2, hidden_liquidity: 0.5}
"""


def test_the_shipped_venues_load_and_a_rebate_is_a_negative_fee():
    venues = load_venues(DEFAULT_VENUES)
    assert len(venues) >= 2 and all(0 <= v.fill_probability <= 1 for v in venues)
    assert any(v.fee_bp < 0 for v in venues)


@pytest.mark.parametrize(
    ("change", "venue", "field", "message"),
    [
        (("fill_probability: 0.5", "fill_probability: 1.5"), "B", "fill_probability", "outside"),
        (("latency_ms: 2", "latency_ms: -2"), "B", "latency_ms", "negative"),
        ((", hidden_liquidity: 0.5", ""), "B", "hidden_liquidity", "missing"),
        (("fee_bp: 0.3", "fee_bp: cheap"), "A", "fee_bp", "not a number"),
        (("latency_ms: 1,", "latency_ms: 1, venue_type: lit,"), "A", "venue_type", "not a venue"),
        (("name: B", "name: A"), "A", "name", "named twice"),
    ],
)
def test_a_bad_venue_file_names_the_file_the_venue_and_the_field(
    tmp_path, change, venue, field, message
):
    path = tmp_path / "venues.yaml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(VenueFileError, match=message) as error:
        load_venues(path)
    assert (error.value.path, error.value.venue, error.value.field) == (path, venue, field)
    assert str(path) in str(error.value)


def test_a_csv_venue_file_is_read_and_checked_the_same_way(tmp_path):
    path = tmp_path / "venues.csv"
    header = "name,fee_bp,fill_probability,latency_ms,hidden_liquidity\n"
    path.write_text(header + "A,0.3,0.9,1,0\nB,0.1,0.4,3,0.2\n")
    assert [v.name for v in load_venues(path)] == ["A", "B"]
    path.write_text(header + "A,0.3,0.9,1,0\nB,0.1,-0.4,3,0.2\n")
    with pytest.raises(VenueFileError, match="fill_probability"):
        load_venues(path)
