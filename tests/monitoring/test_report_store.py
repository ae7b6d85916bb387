"""Reports kept in a folder and on a real S3 store (a private SeaweedFS)."""

import pytest

from monitoring.report_store import ReportStore, report_link

HTML = b"<html><body>drift of market_analyst v3</body></html>"


def test_a_report_in_a_folder_is_written_and_kept_where_it_is(tmp_path):
    reports = ReportStore(str(tmp_path / "reports"))
    path = reports.local_path("drift", "market_analyst-v3-2018-12-31.html")
    assert path == tmp_path / "reports" / "drift" / "market_analyst-v3-2018-12-31.html"
    path.write_bytes(HTML)
    assert reports.keep(path, "drift") == str(path)
    assert report_link(str(path)) == path.resolve().as_uri()


def test_a_report_made_on_a_worker_is_kept_whole_on_the_s3_store_and_off_the_home(
    tmp_path, private_s3
):
    """Written on the step's own disk (outside any shared folder), then kept as an object
    under the deployment's prefix; a store that is down is the store's error, not a loss
    passed over in silence."""
    reports = ReportStore("s3://quorum-tests/deployment/reports", private_s3.url)
    path = reports.local_path("drift", "market_analyst-v3-2018-12-31.html")
    assert not path.is_relative_to(tmp_path)
    path.write_bytes(HTML)
    kept = reports.keep(path, "drift")
    assert kept == "s3://quorum-tests/deployment/reports/drift/market_analyst-v3-2018-12-31.html"
    assert report_link(kept) == kept
    assert not path.exists()  # moved, not copied: the object is the report
    body = private_s3.client().get_object(
        Bucket="quorum-tests", Key=kept.removeprefix("s3://quorum-tests/")
    )["Body"]
    assert body.read() == HTML
    assert private_s3.keys("quorum-tests", "deployment/") == [
        "deployment/reports/drift/market_analyst-v3-2018-12-31.html"
    ]

    private_s3.stop()
    path.write_bytes(HTML)
    with pytest.raises(OSError):
        reports.keep(path, "drift")
    assert path.read_bytes() == HTML  # not kept, not lost: the next attempt has it
