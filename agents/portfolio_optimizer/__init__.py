"""The Portfolio Optimizer: skfolio portfolios from the analyst's views, under constraints."""
