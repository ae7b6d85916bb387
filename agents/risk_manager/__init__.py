"""The Risk Manager: VaR/ES, limits, stress tests and the veto."""
