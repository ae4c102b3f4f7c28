"""Airflow triggers: the async polling loops the sensors defer to."""
