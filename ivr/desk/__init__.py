"""The agent desk (`/desk`): sign-in, sessions, the page, and the team chat's storage.

- `ivr.desk.web`: the blueprint (`bp`, registered by create_app) and the request hook
  that turns a session cookie into `flask.g.desk_agent` for the JSON API.
- `ivr.desk.sessions`: texted one-time sign-in links and sessions in Redis.
- `ivr.desk.chat`: chat rooms; `post()` for anyone who posts (help requests too).

This package imports nothing of `ivr.api` at import time, so the API may import
`ivr.desk.chat` freely.
"""
