"""Chaski NLU: Rasa training data, runtime (train/serve) and HTTP client.

The Rasa server runs from .venv-nlu (Python 3.10); the app only talks to it
over HTTP (nlu.client) and starts/trains it through nlu.runtime.
"""
