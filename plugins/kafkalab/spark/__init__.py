"""Talking to Spark: the streaming job's spec and launcher, its conf, and the
driver-side code spark_jobs/ runs inside spark-submit.
"""
