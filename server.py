"""Build the Chaski web app (`flask --app server run`, gunicorn server:app)."""
import sys

from bot import create_app
from bot.settings import NotReadyForProduction

try:
    app = create_app()
except NotReadyForProduction as refused:
    # CHASKI_ENV=production without what it needs: one line per missing setting, no traceback.
    # Exit 3 is gunicorn's "worker failed to boot": it stops instead of respawning workers.
    print(refused, file=sys.stderr, flush=True)
    raise SystemExit(3) from None
