"""Use cases shared by every interface (CLI today, HTTP later): they take their dependencies as arguments."""
