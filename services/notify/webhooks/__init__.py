"""Partner webhooks (Standard Webhooks): endpoints, signing, fan-out, retries and replays."""
