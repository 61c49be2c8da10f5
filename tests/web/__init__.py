"""Browser tests of the web pages: a real server, a real database and Debian Chromium."""
