import re

MAX_LEN = 40


# slugify turns text into a URL-safe slug.
def slugify(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
