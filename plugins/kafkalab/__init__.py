"""kafkalab: self-verifying Apache Kafka lab exercises, orchestrated by Airflow.

Sub-packages are named after the system their code talks to; ``domain`` talks to none.
"""
