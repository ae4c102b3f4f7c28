"""Kafka and the lab reports inside the Airflow UI: a FastAPI app the Airflow plugin
``plugins/kafkalab_ui.py`` mounts under ``/kafkalab``, with pages rendered on the server.

``model`` builds what a page shows from plain facts (a report dict, lag snapshots) and
imports no client; ``kafka_state`` fetches those facts; ``charts`` plots; ``app`` serves.
"""
