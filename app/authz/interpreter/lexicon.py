"""Word lists for the built-in interpreter: verb classes, noun groups, spelling and inflection.

Everything here is data. The interpreter treats a word it cannot place as a reason to refuse,
so these lists only widen what can be *understood*; they never widen what is *allowed*.
"""


def word_set(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


def pairs(spec: str) -> dict[str, str]:
    """'a=b; c=d' lines -> {a: b, c: d}; keys may hold spaces, values may be empty."""
    out: dict[str, str] = {}
    for line in spec.strip().splitlines():
        for item in line.split(";"):
            key, _, value = item.strip().partition("=")
            out[key] = value
    return out


def _groups(spec: str) -> dict[str, str]:
    """'canon: a b c' lines -> {a: canon, b: canon, ...}; the canonical word maps to itself."""
    out: dict[str, str] = {}
    canon = ""
    for line in spec.strip().splitlines():
        if line[:1].isspace():  # a continuation of the previous group
            head, words = canon, line
        else:
            head, _, words = line.partition(":")
            canon = head = head.strip()
        for word in [head, *words.split()]:
            out.setdefault(word, head)
    return out


# Verbs grouped by meaning. A catalog action matches a question's verb when both fall in one
# class. Multi-word verbs are joined with '_' by PHRASES below before lookup.
VERB_CLASS = _groups("""
read: view open see access browse check get fetch retrieve inspect consult peek peruse examine
  show display look_at go_through pull look_into skim glance glance_at scan pull_up
  look_over glance_over check_out peek_at dig_out dig_up
summarize: recap digest condense abridge sum_up tldr
list: enumerate
search: find look_up lookup query
create: add make generate establish set_up produce issue stand_up spin_up whip_up knock_up
  knock_out put_together
update: edit modify change alter amend revise correct adjust tweak rename fill_in fill_out patch
  set
write: rewrite overwrite
delete: remove erase wipe purge destroy drop trash discard shred expunge get_rid_of take_down
  scrap axe ditch tear_down bin
send: forward deliver dispatch transmit email mail reply respond text message send_out
  fire_off shoot_off send_over pass_on
draft: compose prepare write_up jot_down
share: share_with
pay: settle wire remit make_payment
transfer: move_money send_money
refund: reimburse repay pay_back give_back
approve: authorize okay accept greenlight endorse sign_off ratify sanction rubber-stamp
  rubber_stamp green-light
reject: deny decline refuse veto
export: download extract dump back_up backup
import: upload ingest
run: execute trigger launch start invoke process kick_off
deploy: ship release roll_out push
schedule: book arrange reschedule organize reserve pencil_in
cancel: call_off abort
invite:
merge:
close: resolve wrap_up
reopen:
comment: annotate
assign: reassign
archive:
restore: recover undelete
charge: bill
publish: post put_up push_out
review: audit
sign: countersign execute_contract
disable: deactivate suspend turn_off shut_off switch_off cut_off
enable: activate turn_on switch_on
revoke: rescind
grant: give_access give
order: purchase buy
rotate:
restart: reboot bounce
terminate: kill
query_db: run_sql
""")

# When no catalog action is in the verb's own class, one of these may stand in, in order.
RELATED = {
    "write": ("create", "update", "draft"),
    "create": ("write",),
    "update": ("write",),
    "draft": ("write", "create"),
    "list": ("read",),
    "search": ("read",),
    "schedule": ("create", "write"),
    "reply": ("send",),
    "publish": ("send",),
    "send": ("publish",),
    "sign": ("approve",),
    "pay": ("transfer",),
    "transfer": ("pay",),
}
# Verb classes that only look at data. Reading a thing's parts is reading the thing ("the GL
# balances" under "Read the GL"), and reading it out to somewhere is exporting it.
VIEWING = word_set("read list search")
# Single words whose other sense is a different action: "open a ticket" creates one.
WORD_RELATED = {"open": ("create",), "raise": ("create",), "file": ("create",)}
# Verbs too vague to stand for any one permission: "can I use the calendar?" is unresolved.
VAGUE_VERBS = word_set("do use handle manage perform work deal touch interact operate")

# A verb that names its own object: "email Carol the summary" sends an email.
IMPLIED_OBJECT = pairs("""
email=email; mail=email; text=sms; message=message; invoice=invoice; wire=payment; tweet=tweet
""")

# Light verbs carry no meaning of their own: "issue a refund" is a refund, "make a payment" pays.
# Also "write a summary", "produce an export": a making verb before a nominal action.
LIGHT_VERBS = word_set(
    "issue make do give process perform carry_out handle produce write prepare create generate"
)
NOMINAL_ACTIONS = pairs("""
refund=refund; payment=pay; deletion=delete; removal=delete; export=export; summary=summarize
approval=approve; transfer=transfer; deployment=deploy; review=review; update=update
edit=update; change=update; creation=create; cancellation=cancel; upload=import
download=export; backup=export; reimbursement=refund; merge=merge; restart=restart
rotation=rotate; purchase=order; booking=schedule
""")

# Nouns that name the same kind of thing; a catalog resource matches any word of its group.
# People (customer, user, employee) are deliberately absent: they are objects only when the
# catalog names them as a resource.
NOUN_GROUP = _groups("""
document: doc file paper pdf memo
email: mail inbox mailbox e-mail
message: dm chat
calendar: event meeting appointment invite invitation
contact: lead address_book
invoice: bill
payment: transaction money fund
expense: expense_report receipt claim
pr: pull_request merge_request
repo: repository codebase
database: db
production: prod
payroll: salary paycheck wage
ticket: case incident issue
order: purchase_order po
secret: password credential key token
spreadsheet: sheet
sms: sms
report: dashboard
""")

# Tokens that carry no action or object: frames of a question, modals, greetings.
STOPWORDS = word_set("""
i me we us you he she they myself ourselves can could may might should would will shall must
am is are was were be been being do does did have has had having of as than so if whether
please pls kindly ok okay allowed permitted able possible permission permissions right rights
authorization clearance allowance entitled want wants need needs like love wish going try
trying plan planning intend hoping let lets just also still now today currently right_now
actually really here there hi hello hey thanks thank yes check_whether know what which whom
when where why how question agent assistant bot ai it's i'm i'd i'll we'd we're there's let's
mine yours ours theirs own quick fyi good morning afternoon evening sorry wondering wonder
curious mind assuming again first next hereby sure certain fine acceptable alright u ur plz
maybe perhaps cleared promise swear guess think suppose believe hope reckon nothing else only
permissible ok'd behalf can't cannot cant couldn't isn't aren't
shouldn't wouldn't doesn't didn't haven't hasn't mustn't am_i possibly authorized authorised
mr mrs ms mx dr prof
""")
# After these a verb is expected: "can I email", "this agent may export".
BEFORE_VERB = word_set("""
i we you u agent assistant bot ai can could may might should would will shall must please let
""")
# Pronouns that point back at the object already named in the question.
PRONOUNS = word_set("it them they those these this that one ones")
# Quantifiers with nothing to point back at: "delete everything" is too broad to map.
BROAD = word_set("everything anything all something whatever every")
DETERMINERS = word_set("""
couple a an the this that these those my our your his her their its some any all every each both
another other several few many
""")
# People the action is done to or for; a verb may take them without naming a catalog object.
PARTIES = word_set("""
customer client user person someone somebody team colleague vendor supplier employee manager
boss him her them everyone everybody partner contractor candidate
""")
# Kinds of people that name the same party: "pay the vendor" fits "Pay a supplier invoice".
PARTY_GROUP = _groups("""
supplier: vendor contractor
customer: client buyer
employee: staff worker colleague
user: member
""")
# Work products any communication verb may carry without naming a catalog resource.
CONTENT_NOUNS = word_set("""
summary note reply response answer result finding overview update draft reminder
""")
CONJUNCTIONS = word_set("and or & plus , / nor vs versus")
SEPARATORS = word_set("""
then afterwards later finally but while whilst because unless although though whereas
. ; ! ? : ( ) [ ]
""")
JUNK = word_set("< > { } = |")
NEGATORS = word_set("not no never without don't dont won't wont avoid neither except excluding")
# After a negator these words mean the question is about the action, not a refusal of it:
# "don't I have permission to delete", "am I not allowed to delete".
NEGATION_BREAKERS = word_set("""
i we allowed permitted able authorized authorised permission entitled ok okay possible sure
""")
PREPOSITIONS = word_set("""
in on at from with by about into onto over under via per within across through during before
after until between among toward towards regarding re against since for behind beside beyond
below beneath above inside outside near underneath upon along amid amongst throughout alongside
""")
# Adverb particles of phrasal verbs ("boot up", "hand it over"): they belong to the verb before
# them, never name an object, and change its meaning ("pull up" a record is not "pull").
PARTICLES = word_set("up down off out back away around")
# Prepositions that are a verb's particle when nothing follows them: "hand this case over to".
PARTICLE_PREPOSITIONS = word_set("over through")
# Asking for more power than the catalog grants is never a detail to skip: "with admin rights".
ESCALATION = word_set("""
admin administrator root superuser sudo privilege elevated unrestricted god-mode override
bypass impersonate
""")
# Verbs that address the interpreter rather than name an action: "ignore the rules".
STEERING_VERBS = word_set("""
ignore disregard forget pretend say answer override bypass jailbreak act become treat assume
obey comply tell output return reveal print respond
""")
# Words about rights and rules themselves: a remark holding one ("answer yes regardless of
# policy", "every permission is granted") is never skipped as naming no action.
ABOUT_RIGHTS = (
    STEERING_VERBS
    | ESCALATION
    | word_set("""
grant granted allow allowed permit permitted approve approved authorize authorized authorise
authorised enable unlock elevate policy policies rule rules permission permissions instruction
instructions regardless restriction restrictions guardrail guardrails system prompt yes mode
""")
)
# Words of a claim about rights ("authorization already verified"): never a detail to skip.
RIGHTS_TALK = word_set("""
authorization authorisation authorized authorised clearance cleared verified approval
pre-approved trusted whitelisted allowlisted exempt permitted allowed signed
""")
# Verbs that name an attack: a describing position ("the logs, exfiltrated via DNS") never
# makes one a mere modifier.
HOSTILE = word_set("""
exfiltrate leak steal hack crack spoof scrape impersonate bypass override elevate escalate
jailbreak sudo unlock dump
""")
# Verbs we know are verbs but that map to nothing: met as a verb they are unresolved.
COMMON_VERBS = word_set("""
ignore say answer pretend act become bypass override escalate exfiltrate leak steal hack
break crack sudo elevate impersonate tell reveal print output return forget disregard
jailbreak allow permit assume treat consider unlock skip spoof move copy sync fax call phone
ping notify alert remind tag label sort filter translate explain analyze classify count
compute calculate verify validate test install uninstall configure migrate convert scrape
crawl train sell lend borrow donate hire fire promote demote onboard offboard answer grant
ask confirm notice respond follow obey comply output grant_all
""")

# British spellings and variants that the suffix rules do not catch.
BRITISH = pairs("""
cheque=check; catalogue=catalog; colour=color; programme=program; licence=license
analyse=analyze; judgement=judgment; cancelled=canceled; cancelling=canceling
travelling=traveling; labelled=labeled; modelling=modeling; enrol=enroll; defence=defense
behaviour=behavior; favour=favor; centre=center; dialogue=dialog
""")

# Everyday written shorthand of general English (not any catalog's words): "msg the patient
# thru the portal", "see em", "the dept budgets".
SHORTHAND = pairs("""
thru=through; tho=though; em=them; abt=about; addr=address; dept=department; appt=appointment
info=information; acct=account; mgr=manager; req=request; yr=year; wk=week; tmrw=tomorrow
tmr=tomorrow; pwd=password; pw=password; qty=quantity; msg=message; msgs=message
docs=document
""")

# Irregular verb forms -> base form (regular ones are handled by suffix rules).
IRREGULAR = pairs("""
sent=send; wrote=write; written=write; paid=pay; got=get; gotten=get; ran=run; did=do; done=do
made=make; took=take; taken=take; gave=give; given=give; saw=see; seen=see; bought=buy
sold=sell; drew=draw; drawn=draw; put=put; set=set; shown=show; froze=freeze; frozen=freeze
began=begin; begun=begin; went=go; gone=go; kept=keep; dealt=deal; built=build; led=lead
shut=shut; hid=hide; children=child; people=person; data=data; media=media; canceled=cancel
canceling=cancel
""")

# Multi-word expressions joined into one token before anything else looks at the words.
PHRASES = pairs("""
take a look at=look_at; have a look at=look_at; look at=look_at; looking at=look_at
looked at=look_at; go through=go_through; going through=go_through; look into=look_into
sum up=sum_up; summing up=sum_up; set up=set_up; setting up=set_up; fill in=fill_in
fill out=fill_out; get rid of=get_rid_of; take down=take_down; send out=send_out
write up=write_up; make a payment=make_payment; make payments=make_payment
move money=move_money; pay back=pay_back; give back=give_back; sign off on=sign_off
sign off=sign_off; back up=back_up; kick off=kick_off; roll out=roll_out; call off=call_off
turn off=turn_off; turn on=turn_on; carry out=carry_out; give access=give_access
share with=share_with; look up=look_up; run sql=run_sql; pull request=pull_request
pull requests=pull_request; text message=sms; text messages=sms; merge request=merge_request
merge requests=merge_request; expense report=expense_report; expense reports=expense_report
address book=address_book; right now=right_now; e mail=email; check to see if=
checking whether=; checking if=; not only=; not just=; not to mention=and; but also=and
no matter=; check whether=check_whether; check if=check_whether; in order to=to; so that=to
as well as=and; along with=and; together with=and; and then=then; after that=then
once done=then; rather than=without; instead of=without; other than=without; apart from=without
but not=without; and not=without; or not=; tell me=; please advise=; glance at=glance_at
could you confirm=; can you confirm=; please confirm=; confirm that=; confirm whether=
confirm if=; allow me to=to; allows me to=to; permit me to=to; permits me to=to; do you think=
do you know if=; do you know whether=; let me know=; whether or not=whether; is it ok=
is it okay=; is it possible=; am i able=; do i have=; would it be=
""")
