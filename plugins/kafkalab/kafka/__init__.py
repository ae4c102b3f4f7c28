"""Talking to Kafka: client configs, admin (topics, offsets, lag), reading ranges back,
consumer groups and their commits.
"""
