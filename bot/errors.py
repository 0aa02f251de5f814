"""The bot's exception hierarchy.

    BotError                    base; `message_key` names a message in bot/prompts/messages.toml
    ├── ConfigError             a bad or missing setting (start-up only, shown to the operator)
    │   └── SlackUnreachable    the network does not let the bot reach Slack
    ├── UserError               something the user can fix; safe fixed text is shown in Slack
    │   ├── FileError           a shared file could not be used
    │   │   ├── DownloadFailed, MissingFilesScope, DownloadRedirected
    │   │   ├── FileAccessDenied, FileTooLarge, FilesSkipped
    │   │   └── ImagingError    bytes that do not become images
    │   │       ├── UnsupportedFileType, ImageTooLarge, CorruptImage
    │   │       ├── DicomNoPixelData, DicomUnsupportedSyntax
    │   │       ├── UnsafeArchive
    │   │       └── DecodeBudgetExceeded  more pixels, inflated bytes, memory or time
    │   │                                 than one file or question may take
    │   ├── TooMuchText         the newest question alone does not fit the context
    │   ├── NothingToAnswer     no question and no image anywhere in the thread
    │   ├── ImagesLeftBehind    a follow-up whose earlier images no longer fit
    │   └── Busy                the queue is full (BusyPerson, BusyChannel: their limit)
    ├── BackendError            the model failed; the user sees a fixed message
    │   ├── BackendTimeout
    │   ├── BackendBusy         the model server refuses more work for now (HTTP 429)
    │   ├── BackendOutOfMemory
    │   ├── BackendUnavailable  e.g. weights could not be fetched at start-up
    │   ├── ServerContextExceeded  the model server refused the request as over its context
    │   └── ServerImageLimit    the model server refused the request's number of images
    └── Restarting              the bot shut down before the answer was ready

Foreign exceptions are translated at the edge with ``raise ... from exc``. Exception
*text* is never shown to users or written to logs by the bot: constructors take only
values that are safe to show (sizes, counts, type names), kept in ``params``.
"""

from __future__ import annotations

from typing import ClassVar


class BotError(Exception):
    """Base of every error the bot raises on purpose."""

    message_key: ClassVar[str] = "internal_error"

    def __init__(self, detail: str = "", **params: object) -> None:
        # `detail` is for operators (never user data); `params` fill the user message.
        super().__init__(detail or self.__class__.__name__)
        self.detail = detail
        self.params = params


class ConfigError(BotError):
    """A setting is missing or invalid; the message says what to set."""

    message_key = "internal_error"


class SlackUnreachable(ConfigError):
    """Slack's Web API cannot be reached (DNS, proxy, firewall, TLS); detail says which."""


class UserError(BotError):
    """A problem the user can act on."""

    message_key = "internal_error"


class FileError(UserError):
    """A shared file could not be used."""

    message_key = "download_failed"


class DownloadFailed(FileError):
    """Slack did not hand over the file (network, HTTP status, timeout)."""

    message_key = "download_failed"


class MissingFilesScope(FileError):
    """Slack answered with an HTML login page: the app lacks `files:read`."""

    message_key = "missing_files_scope"


class DownloadRedirected(FileError):
    """The download was sent to a page outside Slack (single sign-on, a proxy)."""

    message_key = "download_redirected"


class FileAccessDenied(FileError):
    """Slack says the bot may not read the file (Slack Connect, restricted files)."""

    message_key = "file_access_denied"


class FilesSkipped(FileError):
    """The message's only files are kinds the bot does not read (links, snippets, posts)."""

    message_key = "files_skipped"


class FileTooLarge(FileError):
    """The file is larger than the configured cap."""

    message_key = "file_too_large"


class ImagingError(FileError):
    """Bytes that do not become model-ready images."""

    message_key = "corrupt_image"


class UnsupportedFileType(ImagingError):
    """A type we do not read (PDF, text, video, ...); `params["kind"]` is its [kinds] key."""

    message_key = "unsupported_file"


class ImageTooLarge(ImagingError):
    """Too many pixels (a decompression bomb or an image beyond the pixel cap)."""

    message_key = "image_too_large"


class CorruptImage(ImagingError):
    """A known format that fails to decode."""

    message_key = "corrupt_image"


class DicomNoPixelData(ImagingError):
    """A DICOM file without an image in it (a report, a structured document)."""

    message_key = "dicom_no_pixels"


class DicomUnsupportedSyntax(ImagingError):
    """A DICOM transfer syntax none of the installed decoders can read."""

    message_key = "dicom_unsupported_syntax"


class UnsafeArchive(ImagingError):
    """A zip that breaks our limits (entries, size, nesting, paths)."""

    message_key = "unsafe_archive"


class DecodeBudgetExceeded(ImagingError):
    """Decoding would take more than its budget (pixels, inflated bytes, memory or time)."""

    message_key = "decode_budget_exceeded"


class TooMuchText(UserError):
    """The newest question alone is longer than the model's context."""

    message_key = "too_much_text"


class NothingToAnswer(UserError):
    """An empty mention with no image in the thread: there is nothing to look at."""

    message_key = "nothing_to_answer"


class ImagesLeftBehind(UserError):
    """A question about earlier images none of which still fit beside the conversation."""

    message_key = "images_left_behind"


class Busy(UserError):
    """The bot's queue is full."""

    message_key = "busy"


class BusyPerson(Busy):
    """The asker already has MEDGEMMA_MAX_PER_PERSON questions in flight."""

    message_key = "busy_person"


class BusyChannel(Busy):
    """The channel already has MEDGEMMA_MAX_PER_CHANNEL questions in flight."""

    message_key = "busy_channel"


class BackendError(BotError):
    """The model backend failed."""

    message_key = "backend_failed"


class BackendTimeout(BackendError):
    """The model took longer than the generation timeout."""

    message_key = "backend_timeout"


class BackendBusy(BackendError):
    """The model server is at capacity (HTTP 429) even after the client's retries."""

    message_key = "backend_busy"


class BackendOutOfMemory(BackendError):
    """The GPU ran out of memory even at the smallest batch."""

    message_key = "backend_out_of_memory"


class BackendUnavailable(BackendError):
    """The backend cannot start or cannot be reached."""

    message_key = "backend_unavailable"


class ServerContextExceeded(BackendError):
    """The model server refused the request as longer than its context (HTTP 400).

    A BackendError, not a UserError: the bot planned the request within the limits it
    knew, so the server's limits changed or the estimate fell short (the operator's
    concern); the asker still reads what to change, never "try again".
    """

    message_key = "server_context_exceeded"


class ServerImageLimit(BackendError):
    """The model server refused the request's images as more than it takes (HTTP 400)."""

    message_key = "server_image_limit"


class Restarting(BotError):
    """The bot is shutting down and could not finish an answer in time."""

    message_key = "restarting"
