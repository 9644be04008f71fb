"""A self-service mentee's personal directory link: sent when they are ready, minted when sent."""

from __future__ import annotations

import json

from sqlalchemy import select

from plugin.domain.signups import (
    directory_link,
    save_profile,
    signup_from_directory_token,
    signup_token,
)
from plugin.storage.db import transaction
from plugin.storage.models import OutboxMessage, Signup
from tests.domain.directory_support import T0, self_service_program
from tests.web.admin.support import add_signup

FORM = {"about": "Teacher", "topics": "python", "timezone": "UTC", "age_confirmed": "on"}


def complete(sessions, signup_id: int) -> None:
    with transaction(sessions) as db:
        save_profile(db.get(Signup, signup_id), FORM, T0)


def directory_links(sessions) -> list[dict]:
    with transaction(sessions) as db:
        rows = db.execute(select(OutboxMessage).where(OutboxMessage.kind == "link_open"))
        payloads = [json.loads(r.payload) for r in rows.scalars()]
    return [p for p in payloads if p["link"]["type"] == "directory"]


def test_a_mentee_of_a_self_service_program_is_sent_a_directory_link_when_ready(sessions, forum):
    program = self_service_program(sessions, forum.id)
    maya = add_signup(sessions, program, "maya", "mentee", state="pending")
    complete(sessions, maya)
    [message] = directory_links(sessions)
    assert (message["usernames"], message["template"]) == (["maya"], "directory_link")
    assert message["link"] == {"type": "directory", "signup_id": maya, "version": 1}


def test_a_mentor_of_a_self_service_program_gets_no_directory_link(sessions, forum):
    program = self_service_program(sessions, forum.id)
    complete(sessions, add_signup(sessions, program, "sam", "mentor", state="pending"))
    assert directory_links(sessions) == []


def test_a_mentee_of_a_program_paired_by_its_admins_gets_no_directory_link(sessions, forum):
    program = self_service_program(sessions, forum.id, self_service=False)
    complete(sessions, add_signup(sessions, program, "maya", "mentee", state="pending"))
    assert directory_links(sessions) == []


def test_the_minted_link_opens_the_mentees_sign_up(sessions, forum, config):
    program = self_service_program(sessions, forum.id)
    maya = add_signup(sessions, program, "maya", "mentee")
    url = directory_link(config, {"signup_id": maya, "version": 1})
    assert url.startswith(f"{config.base_url}/directory/")
    with transaction(sessions) as db:
        assert signup_from_directory_token(db, config.secret_key, url.rsplit("/", 1)[1]).id == maya


def test_a_sign_up_token_does_not_open_the_directory(sessions, forum, config):
    program = self_service_program(sessions, forum.id)
    maya = add_signup(sessions, program, "maya", "mentee")
    with transaction(sessions) as db:
        token = signup_token(config.secret_key, db.get(Signup, maya))
        assert signup_from_directory_token(db, config.secret_key, token) is None


def test_a_directory_link_stops_working_when_a_newer_sign_up_link_replaces_its_version(
    sessions, forum, config
):
    program = self_service_program(sessions, forum.id)
    maya = add_signup(sessions, program, "maya", "mentee")
    token = directory_link(config, {"signup_id": maya, "version": 1}).rsplit("/", 1)[1]
    with transaction(sessions) as db:
        db.get(Signup, maya).link_version = 2
    with transaction(sessions) as db:
        assert signup_from_directory_token(db, config.secret_key, token) is None


def test_a_mentors_token_never_opens_a_directory(sessions, forum, config):
    program = self_service_program(sessions, forum.id)
    sam = add_signup(sessions, program, "sam", "mentor")
    token = directory_link(config, {"signup_id": sam, "version": 1}).rsplit("/", 1)[1]
    with transaction(sessions) as db:
        assert signup_from_directory_token(db, config.secret_key, token) is None
