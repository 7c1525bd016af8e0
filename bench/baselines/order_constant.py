"""The answer both baselines return: an order shaped and sized like launchday's 201.

A constant, so the baselines measure the HTTP server, the framework and validation,
with no storage. The customer is "bench" (no number), which bench/wrk/order.lua
reads as "nothing to check against a database".
"""

ORDER = {
    "id": "1VCE3hFO3vVlnWF1",
    "launch": "bench",
    "sku": "YU7-MAX",
    "customer": "bench",
    "status": "reserved",
    "deposit": {"amount": 5000, "currency": "CNY"},
    "placed_at": "2026-11-23T16:10:48.646566Z",
    "refundable_until": "2026-11-30T16:10:48.646566Z",
    "sequence": 1,
    "locked_at": None,
    "cancelled_at": None,
    "refund": None,
    "delivery_estimate": {"earliest": "2027-08-23", "latest": "2027-09-13", "lead_weeks": [39, 42]},
}
