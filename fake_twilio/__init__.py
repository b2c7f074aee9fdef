"""A local fake of the part of Twilio's HTTP API that Destek uses (run: python -m fake_twilio)."""
