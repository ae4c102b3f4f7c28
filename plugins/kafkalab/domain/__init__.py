"""Pure domain logic: event schemas, lag, reconciliation, verdicts, offsets, names.

Nothing here imports a client (Kafka, S3, Spark, HTTP); every check's decision lives
here or in a pure function next to its operator, so unit tests need no service.
"""
