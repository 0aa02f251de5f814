"""Everything the Slack listeners need, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.pipeline.pipeline import Pipeline
from bot.prompts import Prompts
from bot.service.metrics import Metrics
from bot.service.probes import Health
from bot.settings import Settings
from bot.slack.jobs import Jobs
from bot.slack.waits import Arrivals, ThreadTurns
from bot.slack.webapi.assistant import AssistantThreads
from bot.slack.webapi.budget import StreamBudget
from bot.slack.webapi.files import SlackDownloads
from bot.slack.webapi.people import People
from bot.slack.webapi.posts import Identity
from bot.state import State


@dataclass(frozen=True)
class Deps:
    """The Slack front's collaborators."""

    settings: Settings
    prompts: Prompts
    client: AsyncWebClient
    status_client: AsyncWebClient  # no waiting out rate limits: a late status is useless
    identity: Identity
    downloads: SlackDownloads
    pipeline: Pipeline
    jobs: Jobs
    state: State
    names: People
    turns: ThreadTurns
    arrivals: Arrivals
    replica: str  # this process, in the state's records
    stream_budget: StreamBudget
    metrics: Metrics  # this app's registry: tests build their own
    health: Health  # what the readiness probe reports
    assistant: AssistantThreads  # suggested prompts and DM thread titles
