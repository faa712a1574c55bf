"""The interpreter on a catalog written in another style (tool.resource.action, four segments,
admin descriptions that carry the vocabulary): nothing here was tuned for it."""

import pytest

from app.services.ask_interpreter import CatalogEntry as C
from app.services.ask_interpreter import interpret

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
