"""Slack's Web API, OAuth install and request signing, through the real `slack_sdk`."""
