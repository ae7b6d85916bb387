"""The analyst's names: its members, its registry and search experiments, and the last day
any choice may read. No model library is imported, so configuration and the code location
can name them without loading LightGBM, PyTorch or MLflow."""

AGENT = "market_analyst"
LIGHTGBM = "lightgbm"
SEQUENCE_MEMBERS = ("lstm", "transformer", "cnn")
SEARCH_EXPERIMENT = "quorum-market_analyst-search"
SELECTION_END = "2018-12-31"  # the research discipline: choose on 1990-2018 only
