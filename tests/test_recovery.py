"""A lost passphrase loses nothing: the offline recovery key gives a chair access again."""

from __future__ import annotations

from .evidence import audit_actions, change_as_voiceapp, printed_recovery_key
from .test_chair import PHRASE, sent_submission


def test_a_chair_who_forgot_their_passphrase_reads_again_after_a_recovery(
        app, runner, chair, child, coordinator):
    recovery = printed_recovery_key(runner.invoke(args=["recovery-key", "--rotate"]).output)
    submission = sent_submission(app, child)

    coordinator.signs_in()
    coordinator.opens("/admin/staff")
    coordinator.posts("/admin/staff/1/reset-key")
    assert "Another coordinator must approve this" in coordinator.sees
    approved = runner.invoke(args=["approve-key-reset", "--email", "chair@example.org"])
    assert approved.exit_code == 0, approved.output

    assert chair.signs_in().request.path == "/staff/keys/new"
    chair.posts("/staff/keys/new", {"passphrase": "a fresh passphrase for me",
                                    "confirm": "a fresh passphrase for me"})
    chair.opens_submission(submission)
    assert "locked to a key you do not have" in chair.sees
    assert PHRASE not in chair.sees

    wrong = runner.invoke(args=["recovery-reseal", "--email", "chair@example.org"],
                          input="VOICEAPP-RECOVERY-1-AAAA\n")
    assert wrong.exit_code != 0
    result = runner.invoke(args=["recovery-reseal", "--email", "chair@example.org"],
                           input=recovery + "\n")
    assert result.exit_code == 0, result.output
    assert "can now open 1 more" in result.output
    assert recovery not in result.output.replace("Recovery key:", "")
    chair.opens_submission(submission)
    assert PHRASE in chair.sees
    assert {"staff.key-reset", "submissions.resealed"} <= set(audit_actions(app))
    again = runner.invoke(args=["recovery-reseal", "--email", "chair@example.org"],
                          input=recovery + "\n")
    assert "can now open 0 more" in again.output


def test_a_new_chair_of_a_conference_can_be_given_earlier_submissions(app, runner, child,
                                                                      other_chair):
    recovery = printed_recovery_key(runner.invoke(args=["recovery-key", "--rotate"]).output)
    submission = sent_submission(app, child)

    from voiceapp.models import Conference
    change_as_voiceapp(app, Conference, Conference.reference == "CP-DEMO-0001",
                       chair_id=other_chair.account["id"])
    runner.invoke(args=["recovery-reseal", "--email", "other.chair@example.org"],
                  input=recovery + "\n")
    other_chair.signs_in_and_unlocks()
    other_chair.opens_submission(submission)
    assert PHRASE in other_chair.sees


def test_a_recovery_key_that_is_not_this_organisations_is_refused(runner, chair, demo):
    from voiceapp import crypto

    chair.signs_in_and_unlocks()
    stranger = crypto.format_recovery_key(crypto.generate_private_key())
    result = runner.invoke(args=["recovery-reseal", "--email", "chair@example.org"],
                           input=stranger + "\n")
    assert result.exit_code != 0
    assert "That is not this organisation's recovery key." in result.output
