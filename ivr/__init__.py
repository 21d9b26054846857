"""ivr: a telephony IVR and call-routing server for Twilio."""
