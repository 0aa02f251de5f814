"""Benchmark items through the bot's own pipeline (FileLoader + Pipeline), as Slack's are.

Each item is one user message in a thread of its own: the image as a `LocalFile` and the
question text, so DICOM files, zips and photos are read by the same imaging code. Two
modes:

- `card`: the model cards' evaluation style, as Google's notebooks run MedGemma: one
  user turn with the image before the text and no system prompt (the empty system
  prompt drops the system turn), greedy decoding (every backend of the bot decodes
  greedily), and a short answer budget of `CARD_MAX_NEW_TOKENS`.
- `bot`: exactly what a Slack user gets: the configured system prompts and budgets.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence

from bot.backends.base import Backend
from bot.commands.ask.terminal import LocalFile
from bot.commands.eval.datasets import Item
from bot.commands.eval.questions import Mode, Questions
from bot.commands.eval.records import Record
from bot.errors import BackendUnavailable, BotError
from bot.pipeline.file_loader import FileLoader
from bot.pipeline.messages import Message
from bot.pipeline.pipeline import Pipeline
from bot.prompts import Prompts
from bot.settings import Settings

# Google's fine-tuning notebook scores MedGemma's answers to a one-turn classification
# prompt with max_new_tokens=40 (Google-Health/medgemma,
# notebooks/fine_tune_with_hugging_face.ipynb): room for a short answer, not a report.
CARD_MAX_NEW_TOKENS = 40


def mode_settings(settings: Settings, *, mode: Mode, max_new_tokens: int | None) -> Settings:
    """The settings a mode answers with: card mode's short answer budget."""
    budget = max_new_tokens or (CARD_MAX_NEW_TOKENS if mode == "card" else None)
    return dataclasses.replace(settings, max_new_tokens=budget) if budget else settings


def mode_prompts(prompts: Prompts, *, mode: Mode) -> Prompts:
    """The prompts a mode answers with: card mode has no system prompt, no safety line in
    the question and no abilities (a benchmark's "where is" question is not a box)."""
    if mode == "bot":
        return prompts
    abilities = dataclasses.replace(prompts.abilities, safety="", triggers={})
    system = {name: "" for name in prompts.system}
    return dataclasses.replace(prompts, system=system, abilities=abilities)


class Runner:
    """Asks the pipeline about items, a few at a time, and hands back one record each."""

    def __init__(
        self, *, settings: Settings, prompts: Prompts, backend: Backend, questions: Questions
    ) -> None:
        self._files = FileLoader(settings=settings)
        self._pipeline = Pipeline(
            backend=backend, prompts=prompts, settings=settings, files=self._files
        )
        self._questions = questions

    def close(self) -> None:
        """Stop the file loader's decoding threads."""
        self._files.close()

    async def ask(self, item: Item) -> Record:
        """One item's record; an error the bot would show a user is scored as wrong."""
        question = self._questions.text(item)
        thread = [Message("user", question, files=(LocalFile(item.image),))]
        try:
            answer = await self._pipeline.answer(thread, request_id=f"eval-{item.id}")
        except BackendUnavailable:
            raise  # the model is gone: every later item would fail the same way
        except BotError as exc:
            return Record.of(item, question=question, prediction="", error=exc.message_key)
        return Record.of(item, question=question, prediction=answer.findings)

    async def run(
        self,
        items: Sequence[Item],
        *,
        concurrency: int,
        on_record: Callable[[Record], None],
    ) -> None:
        """Ask about every item, `concurrency` at a time, calling `on_record` as each ends."""
        queue: asyncio.Queue[Item] = asyncio.Queue()
        for item in items:
            queue.put_nowait(item)

        async def worker() -> None:
            while not queue.empty():
                on_record(await self.ask(queue.get_nowait()))

        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(max(1, min(concurrency, len(items)))):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the first failure, as one worker would
