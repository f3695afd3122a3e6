"""Entry point of the app."""
from .models import User
from app.util import slugify, MAX_LEN
import app.db as db


def run(name):
    conn = db.connect("sqlite://")
    user = User(name)
    return slugify(user.display_name())[:MAX_LEN], conn
