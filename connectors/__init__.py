"""Rasa input channels: web chat over socket.io with signed tokens (webchat.py, webchat_token.py), WhatsApp
through Twilio (whatsapp/), and the per-sender rate limit both use (rate_limit.py). Loaded by the Rasa server
(Python 3.10) through credentials.yml; the support app and the campaign scheduler use whatsapp/ to send."""
