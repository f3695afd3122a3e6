class User:
    """A registered user."""

    def __init__(self, name):
        self.name = name

    def display_name(self):
        """Name as shown in the UI."""
        return self.name.title()
