"""Conversation flows: pure functions from (state, message, parse) to replies and new state."""
from flows.base import ContactView, Ctx, Effect, Result, State
from flows.router import respond

__all__ = ["ContactView", "Ctx", "Effect", "Result", "State", "respond"]
