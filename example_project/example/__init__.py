"""Project package of the example shop: settings, URLs, WSGI entry point and the mail backend."""
