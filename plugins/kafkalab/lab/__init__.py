"""The lab itself: the ``./lab`` CLI, the Airflow REST client, and the local stack."""
