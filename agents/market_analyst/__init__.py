"""The Market Analyst: LightGBM signals, calibrated confidence, attribution, regimes."""
