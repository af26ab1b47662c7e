"""proactive"""
