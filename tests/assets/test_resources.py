"""The resources' own behaviour, apart from the assets that take them."""

import pandas as pd
import pytest

from assets.resources import FeastStore


def test_the_training_set_reads_what_the_store_keeps_and_a_missing_one_names_its_writer(
    tmp_path,
):
    feast = FeastStore(exports_dir=str(tmp_path), training_root=str(tmp_path / "training"))
    with pytest.raises(FileNotFoundError) as missing:
        feast.training_set("market_analyst_v2")
    assert str(tmp_path / "training" / "market_analyst_v2.parquet") in str(missing.value)
    assert "training_set asset writes it" in str(missing.value)

    rows = pd.DataFrame({"symbol": ["AAA", "BBB"], "label": [0.01, -0.02]})
    feast.training_sets.write("market_analyst_v2", rows)
    pd.testing.assert_frame_equal(feast.training_set("market_analyst_v2"), rows)
