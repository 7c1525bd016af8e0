"""The pure core: launches, the order lifecycle, quotas and the launch clock.

Nothing here does I/O or reads the wall clock; `now` is always an argument.
"""
