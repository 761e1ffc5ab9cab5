"""The practice's Slack workspace: the connection, a private channel per collection, each
client's invite to it, posts between sessions and the events Slack sends back."""
