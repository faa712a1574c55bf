"""The interpreter on a catalog written in another style (tool.resource.action, four segments,
admin descriptions that carry the vocabulary): nothing here was tuned for it."""

import pytest

from app.authz.interpreter import CatalogEntry as C
from app.authz.interpreter import interpret

CATALOG = [
    C("drive.file.read", "Read files in Google Drive"),
    C("drive.file.write", "Create or edit files in Google Drive"),
    C("gmail.message.send", "Send mail from the user's Gmail account"),
    C("gmail.message.read", "Read mail in the user's Gmail inbox"),
    C("jira.ticket.create", "Create Jira tickets"),
    C("jira.ticket.transition", "Move a Jira ticket to another status", ("close a ticket",)),
    C("stripe.charge.create", "Charge a customer's card"),
    C("stripe.refund.create", "Issue a refund in Stripe"),
    C("salesforce.lead.read", "View leads in Salesforce"),
    C("salesforce.lead.update", "Update leads in Salesforce"),
    C("salesforce.opportunity.close", "Mark an opportunity as won or lost"),
    C("aws.s3.object.delete", "Delete objects from S3 buckets"),
    C("aws.ec2.instance.terminate", "Terminate EC2 instances"),
    C("k8s.deployment.restart", "Restart a Kubernetes deployment"),
    C("okta.user.reset_password", "Reset a user's password"),
    C("expense.reimburse", "Reimburse an approved expense"),
    C("twilio.sms.send", "Send an SMS text message"),
    C("stripe.*"),
]


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Can I read files in Google Drive?", {"drive.file.read"}),
        ("Can I edit a Drive file?", {"drive.file.write"}),
        ("Can I send an email from Gmail?", {"gmail.message.send"}),
        ("Can I open a Jira ticket?", {"jira.ticket.create"}),
        ("Can I close the ticket?", {"jira.ticket.transition"}),
        ("Can I charge the customer's card?", {"stripe.charge.create"}),
        ("Can I issue a refund in Stripe?", {"stripe.refund.create"}),
        ("Can I mark the opportunity as won?", {"salesforce.opportunity.close"}),
        (
            "Can I read the leads and update them?",
            {"salesforce.lead.read", "salesforce.lead.update"},
        ),
        ("Can I terminate the EC2 instances?", {"aws.ec2.instance.terminate"}),
        ("Can I restart the Kubernetes deployment?", {"k8s.deployment.restart"}),
        ("Can I reset alice's password?", {"okta.user.reset_password"}),
        ("Can I text the customer?", {"twilio.sms.send"}),
    ],
)
def test_questions_map_on_a_catalog_in_another_style(question, expected):
    result = interpret(question, CATALOG)
    assert set(result.permissions) == expected and not result.unresolved


@pytest.mark.parametrize(
    "question",
    [
        "Can I terminate an employee?",  # the only 'terminate' is for EC2 instances
        "Can I restart the server?",
        "Can I delete a file in Drive?",
        "Can I refund the customer?",  # a Stripe refund or an expense reimbursement?
        "Can I move JIRA-123 to done?",
    ],
)
def test_what_the_catalog_does_not_clearly_cover_is_unresolved(question):
    assert interpret(question, CATALOG).unresolved


WORKSPACE = [
    C("docs.read", "Read internal documents", ("view docs",)),
    C("docs.summarize", "Summarize a document"),
    C("mail.send", "Send an email for a user"),
    C("mail.draft", "Prepare an email draft"),
    C("calendar.events.create", "Create calendar events"),
    C("calendar.events.delete", "Cancel or delete calendar events"),
    C("finance.payments.authorize", "Authorize an outgoing payment"),
    C("finance.refunds.issue", "Issue a refund to a customer"),
    C("crm.deals.update", "Update a deal in the CRM"),
    C("support.tickets.reply", "Reply to a customer on a support ticket"),
    C("infra.db.backup", "Back up the database"),
    C("files.delete", "Delete a file from shared storage"),
    C("users.suspend", "Suspend a user account"),
    C("travel.book", "Book flights and hotels"),
    C("finance.*"),
]


@pytest.mark.parametrize(
    "question, expected",
    [
        (
            "Am I allowed to view docs and summarise them for user alice@acme.com?",
            {"docs.read", "docs.summarize"},
        ),
        ("Can I cancel tomorrow's meeting?", {"calendar.events.delete"}),
        ("Can I approve payments?", {"finance.payments.authorize"}),
        ("Can I refund the customer?", {"finance.refunds.issue"}),
        ("Can I update the Acme deal in the CRM?", {"crm.deals.update"}),
        ("Can I back up the database?", {"infra.db.backup"}),
        ("Can I delete a file from shared storage?", {"files.delete"}),
        ("Can I suspend Bob's account?", {"users.suspend"}),
        ("Can I book a flight to Berlin?", {"travel.book"}),
    ],
)
def test_questions_map_on_a_workspace_catalog(question, expected):
    result = interpret(question, WORKSPACE)
    assert set(result.permissions) == expected and not result.unresolved


@pytest.mark.parametrize(
    "question",
    [
        "Can I pay a vendor?",
        "Can I delete the database?",
        "Can I terminate Bob?",
        "Can I give Bob a raise?",
    ],
)
def test_what_the_workspace_catalog_does_not_cover_is_unresolved(question):
    assert interpret(question, WORKSPACE).unresolved
