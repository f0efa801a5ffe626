"""Tests of the web pages and the services behind them, through Flask's test client."""
