"""Chat groups of a request's phase and department: DingTalk, WeCom, Feishu, Slack, webhooks."""
