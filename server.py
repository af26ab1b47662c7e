"""Build the Chaski web app (`flask --app server run`, gunicorn server:app)."""
from bot import create_app

app = create_app()
