"""The local stack: installing jars, rendering configs, starting and supervising
Kafka, the object store, the ingestor and Airflow as processes.
"""
