"""Airflow sensors: wait for facts (offsets, lag, Delta rows), deferrable."""
