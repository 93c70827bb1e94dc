from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from vigie.admin import catalogue, survey
from vigie.admin.demo import demo_answers
from vigie.base.errors import FailedPrecondition, InvalidArgument
from vigie.domain.communes import load_reference_communes

COMPLETE = {
    "hours_wanted": {"monday": 10, "saturday": 24, "sunday": 24},
    "services": ["health_monitoring", "requisitions"],
    "cameras_to_connect": 34,
    "pooled_csu_interest": True,
    "ai_interest": False,
    "requisitions_per_month": 3,
}


def ami(db: Session) -> int:
    c = survey.create_campaign(
        db=db, name="AMI CMSU", opens_on=date(2024, 12, 23), closes_on=date(2025, 2, 17)
    )
    return c.id


def test_campaign_dates_are_paris_days_stored_utc(db_session: Session) -> None:
    c = survey.get_campaign(db=db_session, campaign_id=ami(db_session))
    assert c.opens_at == datetime(2024, 12, 22, 23, 0, tzinfo=UTC)  # 00:00 in Paris (UTC+1)
    assert c.closes_at == datetime(2025, 2, 17, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Paris


def test_draft_then_submit_before_deadline(db_session: Session) -> None:
    cid = ami(db_session)
    now = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
    draft = survey.save_draft(
        db=db_session,
        campaign_id=cid,
        commune="59098",
        answers={"cameras_to_connect": 34},
        account_id=None,
        now=now,
    )
    assert draft.status == "draft"
    with pytest.raises(InvalidArgument) as exc:  # incomplete
        survey.submit(
            db=db_session, campaign_id=cid, commune="59098", answers=None, account_id=None, now=now
        )
    assert exc.value.field == "pooled_csu_interest"
    last_minute = datetime(2025, 2, 17, 22, 59, 0, tzinfo=UTC)
    row = survey.submit(
        db=db_session,
        campaign_id=cid,
        commune="59098",
        answers=COMPLETE,
        account_id=None,
        now=last_minute,
    )
    assert row.status == "submitted" and row.submitted_at == last_minute
    assert row.answers["hours_wanted"]["sunday"] == 24


def test_submission_after_closing_is_refused_naming_the_deadline(db_session: Session) -> None:
    cid = ami(db_session)
    late = datetime(2025, 2, 17, 23, 0, 0, tzinfo=UTC)  # 18/02 00:00 in Paris
    with pytest.raises(FailedPrecondition) as exc:
        survey.submit(
            db=db_session,
            campaign_id=cid,
            commune="59098",
            answers=COMPLETE,
            account_id=None,
            now=late,
        )
    assert "17/02/2025 à 23:59" in exc.value.message
    assert "heure de Paris" in exc.value.message
    with pytest.raises(FailedPrecondition):
        survey.save_draft(
            db=db_session, campaign_id=cid, commune="59098", answers={}, account_id=None, now=late
        )
    early = datetime(2024, 12, 1, tzinfo=UTC)
    with pytest.raises(FailedPrecondition) as exc2:
        survey.save_draft(
            db=db_session, campaign_id=cid, commune="59098", answers={}, account_id=None, now=early
        )
    assert "23/12/2024" in exc2.value.message


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"hours_wanted": {"monday": 25}}, "hours_wanted.monday"),
        ({"cameras_to_connect": -1}, "cameras_to_connect"),
        ({"cameras_to_connect": "beaucoup"}, "cameras_to_connect"),
        ({"services": ["teleportation"]}, "services.0"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_typed_answers_are_checked(
    db_session: Session, answers: dict[str, object], field: str
) -> None:
    cid = ami(db_session)
    with pytest.raises(InvalidArgument) as exc:
        survey.save_draft(
            db=db_session, campaign_id=cid, commune="59350", answers=answers, account_id=None,
            now=datetime(2025, 1, 5, tzinfo=UTC),
        )  # fmt: skip
    assert exc.value.field == field


def test_unknown_commune_is_refused(db_session: Session) -> None:
    cid = ami(db_session)
    with pytest.raises(InvalidArgument) as exc:
        survey.save_draft(
            db=db_session, campaign_id=cid, commune="75056", answers={}, account_id=None,
            now=datetime(2025, 1, 5, tzinfo=UTC),
        )  # fmt: skip
    assert exc.value.field == "commune" and "75056" in exc.value.message


def test_follow_up_and_consolidated_results(db_session: Session) -> None:
    catalogue.ensure_default(db=db_session)
    cid = ami(db_session)
    now = datetime(2025, 2, 1, tzinfo=UTC)
    answers = demo_answers()
    for code, a in answers.items():
        survey.submit(
            db=db_session, campaign_id=cid, commune=code, answers=a, account_id=None, now=now
        )
    survey.save_draft(
        db=db_session, campaign_id=cid, commune=next(c.insee_code for c in load_reference_communes() if c.insee_code not in answers),
        answers={}, account_id=None, now=now,
    )  # fmt: skip
    follow = survey.follow_up(db=db_session, campaign_id=cid)
    assert len(follow) == 95
    states = [f["status"] for f in follow]
    assert (
        states.count("submitted") == 50
        and states.count("draft") == 1
        and states.count("not_started") == 44
    )
    r = survey.results(db=db_session, campaign_id=cid)
    assert (r.submitted, r.drafts, r.interested) == (50, 1, 38)
    assert r.cameras_to_connect == sum(a["cameras_to_connect"] for a in answers.values())
    assert r.communes_by_weekday["sunday"] <= 38
    assert r.services["health_monitoring"] == 38
