"""Talking to the lake: the S3 object store and the Delta tables on it."""
