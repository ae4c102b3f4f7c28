"""Airflow operators: the steps of the exercises, their faults, checks and report."""
