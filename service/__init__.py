"""The REST API and supervisor web page over the one `inspect` function (`service.main.create_app`)."""
