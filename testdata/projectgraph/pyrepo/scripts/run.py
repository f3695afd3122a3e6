from app import main
from app.models import *

main.run("x")
