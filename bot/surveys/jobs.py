"""Surveys' scheduled job: close surveys past their end and remind who never answered, once."""
from __future__ import annotations

from bot.surveys.service import send_survey_reminders

JOBS = {"send_survey_reminders": send_survey_reminders}
