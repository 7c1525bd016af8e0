"""The pieces of bench/run.py: servers, wrk, tokens, scenarios, results."""
