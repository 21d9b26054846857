"""Flask blueprints for Twilio's webhooks: HTTP in, calls on the engine and router, TwiML out."""
