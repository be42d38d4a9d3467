"""Where alerts go: the Dagster log (always), a JSON webhook, Slack through dagster-slack."""

from __future__ import annotations

import logging

import requests
from dagster import ConfigurableResource
from pydantic import Field

from jelou_assets.alerts.alert import Alert


class AlertSinks(ConfigurableResource):
    """Sinks are enabled by their settings; the log sink cannot fail and is always on."""

    webhook_url: str | None = Field(default=None, description="JELOU_ALERT_WEBHOOK_URL: receives each alert as JSON.")
    slack_token: str | None = Field(default=None, description="SLACK_BOT_TOKEN (bot with chat:write).")
    slack_channel: str | None = Field(default=None, description="JELOU_SLACK_CHANNEL, e.g. #support-sla.")
    slack_api_url: str | None = Field(default=None, description="Slack Web API root; only tests change it.")
    timeout_s: float = Field(default=10.0, gt=0)

    def sink_names(self) -> list[str]:
        names = []
        if self.webhook_url:
            names.append("webhook")
        if self.slack_token and self.slack_channel:
            names.append("slack")
        return names

    def send(self, sink: str, alert: Alert) -> None:
        """Deliver to one external sink; raises when the sink did not accept it."""
        if sink == "webhook":
            response = requests.post(self.webhook_url, json=alert.to_json(), timeout=self.timeout_s)
            response.raise_for_status()
        elif sink == "slack":
            # Imported on first use: slack_sdk would add to the start-up of every process loading the definitions.
            from dagster_slack import SlackResource

            client = SlackResource(token=self.slack_token).get_client()
            if self.slack_api_url:
                client.base_url = self.slack_api_url
            client.timeout = int(self.timeout_s)
            client.chat_postMessage(channel=self.slack_channel, text=f"{slack_escape(alert.text)}\n<{alert.link}|Open in Dagster>")
        else:
            raise ValueError(f"unknown alert sink {sink!r}")


def slack_escape(text: str) -> str:
    """Slack mrkdwn's three control characters as entities, so names from the API stay text:
    a team called `<!channel>` pings no one and `<url|label>` links nothing."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def log_alert(log: logging.Logger, alert: Alert) -> None:
    log.warning(f"ALERT {alert.text}\n{alert.link}")
