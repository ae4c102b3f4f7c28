"""The mock-data generator: builds events and sends them to the ingestor or to Kafka.

Entry point: ``generators/simulate_data.py`` (``./lab generate``).
"""
