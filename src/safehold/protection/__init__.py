"""Data protection: snapshots of what a destructive action will touch, taken before it is
released, written to a store independent of the data, verified, and restorable.

`interface.py` holds the values and the two extension points (drivers, stores); one module per
driver and per store; `plan.py` says what a decision's targets need, `first.py` takes it before
an action is released, `restore.py` brings a snapshot back. Nothing here imports boto3 until an
S3 store is opened.
"""
