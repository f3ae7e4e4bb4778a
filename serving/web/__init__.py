"""The web app of `harflow serve`: a page to upload a clip and a JSON API (docs/web.md)."""
