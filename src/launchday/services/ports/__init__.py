"""The ports: what the services need from storage, one module per aggregate, no SQL.

`store` is the database as a whole (its writer, its read model, its locks); the
others name the writes and reads of one aggregate each. A store adapter implements
them all (`launchday.store`).
"""
