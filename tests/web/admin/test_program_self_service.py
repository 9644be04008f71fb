"""The new-program page's self-service checkbox (issue 14)."""

from __future__ import annotations

from sqlalchemy import select

from plugin.storage.db import reading
from plugin.storage.models import Program
from tests.web.admin.support import post, text
from tests.web.admin.test_pages import NEW


def self_service(sessions) -> list[bool]:
    with reading(sessions) as db:
        return list(db.execute(select(Program.self_service).order_by(Program.id)).scalars())


def test_the_new_program_form_offers_self_service(staff):
    assert 'name="self_service"' in text(staff.get("/admin/programs/new"))


def test_a_ticked_box_makes_a_self_service_program(staff, sessions, fake, live_forum):
    form = {**NEW, "self_service": "on"}
    assert post(staff, "/admin/programs/new", form, "/admin/programs/new").status_code == 303
    assert self_service(sessions)[-1] is True


def test_an_unticked_box_makes_a_program_paired_by_its_admins(staff, sessions, fake, live_forum):
    assert post(staff, "/admin/programs/new", NEW, "/admin/programs/new").status_code == 303
    assert self_service(sessions)[-1] is False
