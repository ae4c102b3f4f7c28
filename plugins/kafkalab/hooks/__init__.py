"""Airflow hooks: the lab's Kafka and object-store connections."""
