def connect(url):
    """Open a connection to url."""
    return {"url": url}
