"""The notes API's logic (protos/notes/v1/notes.proto), shared by
grpc_server.py and rest_server.py: requests and answers are the generated
protobuf messages, errors a ServiceError naming a gRPC status code. No
protocol code here; each server only translates.

The store is a fixed set of seeded notes that nothing changes: CreateNote,
UpdateNote and DeleteNote answer as if they had written, so every answer
depends only on its request and on the seed, whichever protocol asks and in
whatever order, and memory stays flat under any load. The one exception is
the time a write stamps on its answer (create_time, update_time: the server's
clock, in whole seconds), as a real server would.
"""
import hashlib
import re
import time

from google.protobuf import empty_pb2, timestamp_pb2

from notes.v1 import notes_pb2

# gRPC status code name -> (number, HTTP status), as grpc-gateway maps them.
STATUS = {
    "INVALID_ARGUMENT": (3, 400),
    "NOT_FOUND": (5, 404),
    "ALREADY_EXISTS": (6, 409),
    "UNIMPLEMENTED": (12, 501),
    "INTERNAL": (13, 500),
}


class ServiceError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code  # a key of STATUS, and a grpc.StatusCode name
        self.message = message


# 2^53: every note id is above it, so a JSON number (a double) could not hold
# it exactly and proto3 JSON's int64-as-string matters.
ID_BASE = 2**53
USERS = ("1", "2", "3")  # users/3 has no notes
NOTES_PER_USER = {"1": 12, "2": 3, "3": 0}
DEFAULT_PAGE_SIZE = 5
MAX_PAGE_SIZE = 50
NOTE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

_TITLES = ("Meeting notes", "Groceries", "Reading list", "Café ☕ ideas", 'Quote "of the day"', "Meeting follow-up")
_TAGS = ("work", "home", "ideas", "urgent")
_COLORS = ("red", "green", "blue")
_STATES = (notes_pb2.STATE_DRAFT, notes_pb2.STATE_PUBLISHED, notes_pb2.STATE_ARCHIVED, notes_pb2.STATE_UNSPECIFIED)
# Nanoseconds that proto3 JSON writes with 0, 3, 9 and 6 fraction digits.
_NANOS = (0, 500_000_000, 123_456_789, 120_000)
_SEED_EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


def _seed_note(user, n):
    note = notes_pb2.Note(
        name=f"users/{user}/notes/{n}",
        id=ID_BASE + 1000 * int(user) + n,
        title=f"{_TITLES[(n - 1) % len(_TITLES)]} {n}",
        state=_STATES[n % len(_STATES)],
        tags=[tag for bit, tag in enumerate(_TAGS) if (n >> bit) & 1],
        pinned=n % 4 == 0,
    )
    if n % 3 != 0:  # some notes have no body: left out of the JSON
        note.body = f"Line one of note {n}.\nLine two, with a tab\tand a \"quote\"."
    if n % 5 != 0:
        note.labels["color"] = _COLORS[n % len(_COLORS)]
        if n % 2 == 0:
            note.labels["project"] = "callbench"
    if n != 2:
        note.author.display_name = f"User {user}"
        note.author.email = f"user{user}@example.com"
    for k in range(n % 3):
        note.attachments.add(
            filename=f"scan-{n}-{k}.pdf" if k == 0 else f"photo-{n}-{k}.jpg",
            mime_type="application/pdf" if k == 0 else "image/jpeg",
            size_bytes=(2**40 + n) if k == 0 else 0,  # above 2^32; and 0, left out
        )
    note.create_time.seconds = _SEED_EPOCH + n * 86_400
    note.create_time.nanos = _NANOS[n % len(_NANOS)]
    note.update_time.seconds = _SEED_EPOCH + n * 86_400 + n * 60
    note.update_time.nanos = _NANOS[(n + 1) % len(_NANOS)]
    return note


def _seed():
    return {
        f"users/{user}/notes/{n}": _seed_note(user, n)
        for user in USERS
        for n in range(1, NOTES_PER_USER[user] + 1)
    }


# name -> Note, in name order per user; read only.
NOTES = _seed()


def _now():
    # Whole seconds: the same length in JSON ("...T10:00:00Z") and protobuf on every call.
    return timestamp_pb2.Timestamp(seconds=int(time.time()))


def _user(parent):
    match = re.fullmatch(r"users/([^/]+)", parent)
    if not match:
        raise ServiceError("INVALID_ARGUMENT", f"parent must look like users/<user>, got {parent!r}")
    if match.group(1) not in USERS:
        raise ServiceError("NOT_FOUND", f"user {parent} not found")
    return match.group(1)


def _note(name):
    if not re.fullmatch(r"users/[^/]+/notes/[^/]+", name):
        raise ServiceError("INVALID_ARGUMENT", f"name must look like users/<user>/notes/<note>, got {name!r}")
    note = NOTES.get(name)
    if note is None:
        raise ServiceError("NOT_FOUND", f"note {name} not found")
    return note


def _matching(user, states, note_filter):
    prefix = f"users/{user}/notes/"
    for name, note in NOTES.items():
        if not name.startswith(prefix):
            continue
        if states and note.state not in states:
            continue
        if note_filter.tag and note_filter.tag not in note.tags:
            continue
        if note_filter.title_prefix and not note.title.startswith(note_filter.title_prefix):
            continue
        if note.id < note_filter.min_id:
            continue
        yield note


def get_note(request):
    return _note(request.name)


def list_notes(request):
    user = _user(request.parent)
    if request.page_size < 0:
        raise ServiceError("INVALID_ARGUMENT", f"page_size must be 0 or more, got {request.page_size}")
    size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    offset = 0
    if request.page_token:
        if not request.page_token.isdigit():
            raise ServiceError("INVALID_ARGUMENT", f"page_token {request.page_token!r} is not one this server gave")
        offset = int(request.page_token)
    matched = list(_matching(user, set(request.states), request.filter))
    response = notes_pb2.ListNotesResponse(notes=matched[offset : offset + size], total_size=len(matched))
    if offset + size < len(matched):
        response.next_page_token = str(offset + size)
    return response


def create_note(request):
    _user(request.parent)
    if not request.note.title:
        raise ServiceError("INVALID_ARGUMENT", "note.title is required")
    digest = hashlib.sha256(f"{request.parent}\0{request.note.title}".encode()).digest()
    note_id = request.note_id or "n" + digest[:6].hex()
    if not NOTE_ID.fullmatch(note_id):
        raise ServiceError("INVALID_ARGUMENT", f"note_id must match {NOTE_ID.pattern}, got {note_id!r}")
    name = f"{request.parent}/notes/{note_id}"
    if name in NOTES:
        raise ServiceError("ALREADY_EXISTS", f"note {name} already exists")
    note = notes_pb2.Note()
    note.CopyFrom(request.note)
    note.name = name
    note.id = ID_BASE + int.from_bytes(digest[:6], "big")  # from the input: the same on both servers
    if note.state == notes_pb2.STATE_UNSPECIFIED:
        note.state = notes_pb2.STATE_DRAFT
    now = _now()
    note.create_time.CopyFrom(now)
    note.update_time.CopyFrom(now)
    return note  # not stored: see the module's docstring


def update_note(request):
    note = notes_pb2.Note()
    note.CopyFrom(_note(request.name))
    if request.HasField("title"):
        if not request.title:
            raise ServiceError("INVALID_ARGUMENT", "title cannot be empty")
        note.title = request.title
    if request.HasField("body"):
        note.body = request.body
    if request.HasField("state"):
        note.state = request.state
    if request.HasField("pinned"):
        note.pinned = request.pinned
    for key, value in request.labels.items():
        note.labels[key] = value
    note.update_time.CopyFrom(_now())
    return note  # not stored


def delete_note(request):
    _note(request.name)
    return empty_pb2.Empty()  # not deleted


def stream_notes(request):
    """All the notes of the stream, as a list: a bad request fails before the first message."""
    user = _user(request.parent)
    return list(_matching(user, set(request.states), request.filter))
