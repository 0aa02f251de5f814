"""Which request answers a question: the thread as a conversation, or one of MedGemma
1.5's recipes (boxes on a chest X-ray, the current film against the prior), a lab
report's values (a PDF or a photo of one, any model), or the rest of a cut answer.

A recipe needs a model trained on it (MedGemma 1.5) and a film that may be a chest
X-ray. Under MedGemma 1 a "where is" question is answered in words with a short note
("this model does not draw boxes"), and the model that can is named in the logs and by
`doctor`, never in the answer: it is advice for whoever runs the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.backends.base import Backend, ImagePart, Part, TextPart
from bot.imaging.types import DecodedFile, Layout
from bot.logs import event
from bot.pipeline import extraction, recipes
from bot.pipeline.abilities import ABLE_MODEL, Ability, Detector, can_localise
from bot.pipeline.conversation import Budget, Conversation, Note, Texts, build
from bot.pipeline.localise import localisation_prompt
from bot.pipeline.messages import DecodedMessage
from bot.pipeline.recipes import Film
from bot.prompts import ENGLISH, Prompts, profile_for
from bot.settings import Settings
from bot.specialty import Specialty

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """The request for a question, and what it was planned as."""

    conv: Conversation
    ability: Ability | None = None  # the recipe or continuation used, None for a plain one
    film: Film | None = None  # the film a localisation is about
    document: DecodedFile | None = None  # the PDF or photo whose values are asked for
    notes: tuple[Note, ...] = ()  # said about the plan, before the request's own notes


class Planner:
    """Chooses and builds the request for the newest question of a thread."""

    def __init__(self, *, backend: Backend, prompts: Prompts, settings: Settings) -> None:
        self._backend = backend
        self._prompts = prompts
        self._settings = settings
        self._abilities = prompts.abilities
        self._profile = profile_for(settings.prompt_profile, settings.model)
        self._detector = Detector.of(prompts.abilities.triggers)
        self._able = can_localise(settings.model)

    def plan(
        self,
        thread: Sequence[DecodedMessage],
        *,
        specialty: Specialty,
        language: str = ENGLISH,
        request_id: str = "",
    ) -> Plan:
        """The request for the thread's newest message."""
        asked = self._detector.asks(thread[-1].text)
        if asked is Ability.CONTINUE and any(m.role == "assistant" for m in thread[:-1]):
            text = self._abilities.continuation
            newest = replace(thread[-1], text=text)
            conv = self.conversation([*thread[:-1], newest], specialty=specialty, language=language)
            return Plan(conv, ability=Ability.CONTINUE)
        document = extraction.source(thread) if asked is Ability.EXTRACT else None
        if document is not None:
            return self._extract(document, question=thread[-1].text.strip())
        wanted = asked in (Ability.LOCATE, Ability.COMPARE)
        films = recipes.films(thread, specialty=specialty) if wanted else []
        if films and self._able:
            planned = self._recipe(asked, films, thread=thread)
            if planned is not None:
                return planned
        conv = self.conversation(thread, specialty=specialty, language=language)
        if films and not self._able and (asked is Ability.LOCATE or len(films) > 1):
            self._unavailable(asked, request_id=request_id)
            return Plan(conv, notes=(("no_boxes", {}),) if asked is Ability.LOCATE else ())
        return Plan(conv)

    def conversation(
        self, thread: Sequence[DecodedMessage], *, specialty: Specialty, language: str = ENGLISH
    ) -> Conversation:
        """The thread as the model's conversation, within the token and image budget."""
        capabilities = self._backend.capabilities
        settings = self._settings
        safety = self._abilities.safety if self._profile == "google" else ""
        return build(
            thread,
            texts=Texts(
                system=self._prompts.system_prompt(
                    specialty, profile=self._profile, model=settings.model
                ),
                image_sets=self._prompts.image_sets,
                default_question=self._prompts.text(
                    "format", "default_question", language=language
                ),
                safety=safety,
            ),
            budget=Budget(
                context_tokens=min(settings.context_tokens, capabilities.context_tokens),
                model_context=capabilities.context_tokens,
                max_images=min(settings.max_images, capabilities.max_images or 10**6),
                max_new_tokens=settings.max_new_tokens,
                tokens_per_image=capabilities.tokens_per_image,
                max_request_images=capabilities.max_images,
            ),
            count_text=self._backend.count_text_tokens,
        )

    def _recipe(
        self, asked: Ability | None, films: Sequence[Film], *, thread: Sequence[DecodedMessage]
    ) -> Plan | None:
        """Google's recipe for the ability, when the thread holds the films it needs."""
        question = thread[-1].text.strip()
        if asked is Ability.LOCATE:
            film = recipes.latest_film(films, newest=len(thread) - 1)
            return self._locate(film, question) if film is not None else None
        pair = recipes.prior_and_current(films)
        return self._compare(*pair, question=question) if pair is not None else None

    def _locate(self, film: Film, question: str) -> Plan:
        prompt = localisation_prompt(self._abilities.localisation, question)
        conv = recipes.one_turn(
            [ImagePart(film.image.image), TextPart(prompt)],
            max_new_tokens=self._abilities.localisation_tokens,
            count_text=self._backend.count_text_tokens,
            tokens_per_image=self._backend.capabilities.tokens_per_image,
        )
        return Plan(conv, ability=Ability.LOCATE, film=film)

    def _compare(self, prior: Film, current: Film, how: Note, *, question: str) -> Plan:
        text = recipes.with_safety(question, self._abilities.safety)
        conv = recipes.one_turn(
            [ImagePart(prior.image.image), ImagePart(current.image.image), TextPart(text)],
            max_new_tokens=self._abilities.longitudinal_tokens,
            count_text=self._backend.count_text_tokens,
            tokens_per_image=self._backend.capabilities.tokens_per_image,
            notes=(how, ("comparison", {})),
            shown=(prior.file, current.file),
        )
        return Plan(conv, ability=Ability.COMPARE)

    def _extract(self, document: DecodedFile, *, question: str) -> Plan:
        """The document's pages (or the photo), then the extraction instruction and question."""
        capabilities = self._backend.capabilities
        room = min(self._settings.max_images, capabilities.max_images or 10**6)
        images = document.images[:room]
        parts: list[Part] = []
        for image in images:
            parts.append(ImagePart(image.image))
            parts.extend([TextPart(image.label)] if image.label else [])
        text = f"{self._abilities.extraction}\n{question}"
        paged = document.layout is Layout.PAGES and len(images) < document.total_slices
        used: dict[str, object] = {"used": len(images), "total": document.total_slices}
        conv = recipes.one_turn(
            [*parts, TextPart(recipes.with_safety(text, self._abilities.safety))],
            max_new_tokens=self._abilities.extraction_tokens,
            count_text=self._backend.count_text_tokens,
            tokens_per_image=capabilities.tokens_per_image,
            notes=(("pages_used", used),) if paged else (),
            shown=(document,),
        )
        return Plan(conv, ability=Ability.EXTRACT, document=document)

    def _unavailable(self, asked: Ability | None, *, request_id: str) -> None:
        """Advice for whoever runs the bot: this model was not trained for the ability."""
        event(
            log,
            "ability_unavailable",
            level=logging.WARNING,
            request_id=request_id,
            ability=str(asked),
            model=self._settings.model,
            trained_model=ABLE_MODEL,
        )
