"""The rehearsal simulator: scenarios, arrival curves, simulated customers and the load driver."""
