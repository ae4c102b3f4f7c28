"""The FastAPI ingestor: validates events and publishes them to Kafka.

Run with ``uvicorn kafkalab.ingestor.app:app``.
"""
